/**
 * One download, start to finish: check and lock the save path, find the
 * sources (the named user, plus every other online holder of the same
 * content from the cached index), agree on a piece map, fetch the missing
 * pieces from all sources into `<save>.part`, check the whole file, then
 * move it into place. No tracker traffic: addresses come from the local user map.
 */
import { lstat, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { FileListing, UserAddress } from "@p2p/shared";
import { EXIT, PeerError, errorMessage, type PeerErrorCode } from "../errors.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { askSources, type Answers, type SourceAddress, type SourceAnswer } from "./ask-sources.ts";
import { chooseMap, type Candidate } from "./choose-map.ts";
import { ensureSpace } from "./disk-space.ts";
import { OrderedHasher } from "./ordered-hasher.ts";
import { kindOf, PartFile, partPathOf, readPartState } from "./part-file.ts";
import { sameMap, type PieceMap } from "./piece-map.ts";
import { lockSave } from "./save-lock.ts";
import { Swarm, type SourceReport, type SwarmSource } from "./swarm.ts";
import { writeFailure } from "./write-failure.ts";

export interface DownloadRequest {
  user: string;
  path: string;
  save: string;
  force: boolean;
  singleSource: boolean;
  /** This peer's own name: never a source for itself. */
  self: string | null;
  onProgress?: (received: number, total: number, sources: number) => void;
  /** Called as sources are dropped, to name them in the output. */
  onDrop?: (report: SourceReport) => void;
  signal?: AbortSignal;
}

export interface DownloadResult {
  /** The saved file exactly as it was verified and placed. */
  file: OfferedFile;
  sources: SourceReport[];
  transferred: number;
  resumedBytes: number;
  refetched: number;
}

/** Where a download looks up sources; both are local caches, never the tracker. */
export interface SourceDirectory {
  lookup(user: string): UserAddress;
  find(user: string): UserAddress | undefined;
  listing(user: string, path: string): FileListing | undefined;
  holders(sha256: string, size: number): FileListing[];
}

export interface DownloadTiming {
  /** How long a source may take to connect and send its piece map. */
  answerWithinMs: number;
  /** Once the named source answered, how long the others get to answer before the download starts without them. */
  graceMs: number;
  /** Without the named source's answer, how long before starting with the sources that did answer. */
  startWithinMs: number;
}

export const DEFAULT_TIMING: DownloadTiming = { answerWithinMs: 10_000, graceMs: 1_000, startWithinMs: 5_000 };

const failed = (code: PeerErrorCode, message: string) => new PeerError(code, message, EXIT.downloadFailed);

export async function downloadFile(directory: SourceDirectory, request: DownloadRequest, timing: DownloadTiming = DEFAULT_TIMING): Promise<DownloadResult> {
  const { user, save, signal } = request;
  const named = directory.lookup(user);
  await checkTarget(save, request.force);
  try {
    await mkdir(dirname(save), { recursive: true });
  } catch (error) {
    throw writeFailure(error, dirname(save));
  }
  const lock = await lockSave(save);
  // Everything opened below is closed on every path: the lock, the part file, every connection.
  let answers: Answers | undefined;
  try {
    await checkTarget(save, request.force);
    answers = askSources(sourcesFor(directory, request, named), { answerWithinMs: timing.answerWithinMs, ...(signal ? { signal } : {}) });
    return await fetchInto(request, directory.listing(user, request.path), answers, timing);
  } finally {
    answers?.cancel();
    await lock.release();
  }
}

/** Never overwrites without --force, and even with it only ever replaces a regular file. */
async function checkTarget(save: string, force: boolean): Promise<void> {
  const existing = await lstat(save).catch(() => null);
  if (!existing) return;
  if (existing.isDirectory()) throw failed("exists", `${save} is a directory; give a file path to save to`);
  if (!existing.isFile()) throw failed("exists", `${save} is a ${kindOf(existing)}; only a regular file can be replaced, even with --force`);
  if (!force) throw failed("exists", `${save} already exists; use --force to overwrite it`);
}

function sourcesFor(directory: SourceDirectory, request: DownloadRequest, named: UserAddress): SourceAddress[] {
  const { user, path } = request;
  const sources: SourceAddress[] = [{ ...named, path }];
  const expected = directory.listing(user, path);
  if (request.singleSource || !expected) return sources;
  for (const holder of directory.holders(expected.sha256, expected.size)) {
    if (holder.user === user || holder.user === request.self || sources.some((s) => s.user === holder.user)) continue;
    const address = directory.find(holder.user);
    if (address) sources.push({ ...address, path: holder.path });
  }
  return sources;
}

/**
 * Waits for answers until the download can start: every source answered,
 * or the named one answered and the others had a short grace, or (the named
 * one being slow) some did answer within `startWithinMs`.
 */
async function firstAnswers(answers: Answers, named: string, timing: DownloadTiming): Promise<{ taken: SourceAnswer[]; allIn: boolean }> {
  const taken: SourceAnswer[] = [];
  const started = Date.now();
  let namedAt: number | undefined;
  for (;;) {
    const anyOk = taken.some((a) => a.ok);
    const until = Math.min(namedAt === undefined ? Infinity : namedAt + timing.graceMs, anyOk ? started + timing.startWithinMs : Infinity);
    const next = await nextBefore(answers, until);
    if (next === "later") return { taken, allIn: false };
    if (next === undefined) return { taken, allIn: true };
    taken.push(next);
    if ((next.ok ? next.source.user : next.user) === named) namedAt = Date.now();
  }
}

async function nextBefore(answers: Answers, deadline: number): Promise<SourceAnswer | undefined | "later"> {
  if (deadline === Infinity) return answers.next();
  const wait = deadline - Date.now();
  if (wait <= 0) return "later";
  let timer: NodeJS.Timeout | undefined;
  const later = new Promise<"later">((resolve) => (timer = setTimeout(() => resolve("later"), wait)));
  try {
    return await Promise.race([answers.next(), later]);
  } finally {
    clearTimeout(timer);
  }
}

async function fetchInto(request: DownloadRequest, expected: FileListing | undefined, answers: Answers, timing: DownloadTiming): Promise<DownloadResult> {
  const { user, path, save, signal } = request;
  const dropped: SourceReport[] = [];
  const drop = (report: SourceReport) => {
    dropped.push(report);
    request.onDrop?.(report);
  };
  const dropAnswer = (name: string, reason: string) => drop({ user: name, pieces: 0, bytes: 0, dropped: reason });
  const fromNamed = (error: PeerError) => failed(error.code, `cannot download ${path} from ${user}: ${error.message}`);
  const aborted = () => failed("aborted", `the download was cancelled; ${partPathOf(save)} is kept if anything was verified: run the same download again to resume`);

  // Pick the piece map from the first answers; later ones join if they agree.
  let namedFailure: PeerError | undefined;
  const candidates: Candidate<SwarmSource>[] = [];
  const take = (answer: SourceAnswer) => {
    if (answer.ok) candidates.push({ source: answer.source, map: answer.map });
    else if (answer.user === user) namedFailure = answer.error;
    else dropAnswer(answer.user, errorMessage(answer.error));
  };
  let { taken, allIn } = await firstAnswers(answers, user, timing);
  taken.forEach(take);
  const earlier = await readPartState(save);
  let chosen = chooseMap(candidates, expected, earlier);
  while (!chosen && !allIn) {
    // Nobody usable yet, but some are still answering.
    const next = await answers.next();
    if (next === undefined) allIn = true;
    else take(next);
    chosen = chooseMap(candidates, expected, earlier);
  }
  if (signal?.aborted) {
    for (const c of candidates) c.source.connection.close();
    throw aborted();
  }
  for (const { source, reason } of chosen?.disagree ?? []) {
    source.connection.close();
    dropAnswer(source.user, reason);
  }
  if (!chosen) {
    if (namedFailure && dropped.length === 0) throw fromNamed(namedFailure);
    const reasons = [...(namedFailure ? [`${user}: ${namedFailure.message}`] : []), ...dropped.map((d) => `${d.user}: ${d.dropped}`)];
    throw failed(namedFailure?.code ?? "no-source", `no source can deliver ${path}: ${reasons.join("; ")}`);
  }
  const { map } = chosen;
  if (namedFailure) dropAnswer(user, namedFailure.message);

  await ensureSpace(dirname(save), map.size - (await PartFile.allocatedBytes(save, map)), save);
  const hasher = new OrderedHasher(map.hashes.length, map.pieceSize);
  let opened;
  try {
    opened = await PartFile.open(save, map, (i, data) => hasher.add(i, data));
  } catch (error) {
    for (const source of chosen.agree) source.connection.close();
    throw error;
  }
  const { part, have, resumedBytes } = opened;
  const swarm = new Swarm({
    map,
    part,
    have,
    onPiece: (i, data) => hasher.add(i, data),
    onProgress: (bytes, active) => request.onProgress?.(bytes, map.size, active),
    onDrop: drop,
    ...(signal ? { signal } : {}),
  });
  for (const source of chosen.agree) swarm.add(source);
  if (allIn) swarm.closeJoins();
  else void joinLate(answers, swarm, map, take, dropAnswer);

  let result;
  try {
    result = await swarm.run();
  } catch (error) {
    await part.suspend();
    throw error;
  }
  if (!result.complete) {
    await part.suspend();
    if (signal?.aborted) throw aborted();
    const reasons = dropped.map((d) => `${d.user}: ${d.dropped}`).join("; ");
    throw failed(
      "no-source",
      `no source is left to deliver the rest of ${path} (${reasons}); the verified pieces are kept in ${partPathOf(save)}: run the same download again to resume`,
    );
  }

  let sha256: string;
  try {
    sha256 = await hasher.digest((i) => part.readPiece(i));
  } catch (error) {
    await part.suspend();
    throw writeFailure(error, partPathOf(save));
  }
  if (sha256 !== map.sha256) {
    await part.discard();
    throw failed("corrupt", `the assembled file's SHA-256 is ${sha256}, not the registered ${map.sha256}; the sources' piece map was wrong, nothing was kept`);
  }
  const file = await part.complete(sha256, request.force);
  const droppedUsers = new Set(dropped.map((d) => d.user));
  return {
    file,
    sources: [...result.sources.filter((s) => !droppedUsers.has(s.user)), ...dropped],
    transferred: result.transferred,
    resumedBytes,
    refetched: result.refetched,
  };
}

/** Sources that answered after the download started join it if their map is the one chosen. */
async function joinLate(
  answers: Answers,
  swarm: Swarm,
  map: PieceMap,
  take: (answer: SourceAnswer) => void,
  dropAnswer: (user: string, reason: string) => void,
): Promise<void> {
  for (let next = await answers.next(); next !== undefined; next = await answers.next()) {
    if (!next.ok) take(next);
    else if (sameMap(next.map, map)) swarm.add(next.source);
    else {
      next.source.connection.close();
      dropAnswer(next.source.user, "its piece map disagrees with the other sources");
    }
  }
  swarm.closeJoins();
}
