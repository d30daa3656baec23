/**
 * One download, start to finish: check and lock the save path, find the
 * sources (the named user, plus every other online holder of the same
 * content from the cached index), prove each source's piece map against the
 * registered content root, fetch the missing pieces from all proven sources
 * into `<save>.part` (each checked on arrival), then move it into place. No
 * tracker traffic: addresses and roots come from the local caches.
 */
import { lstat, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { FileListing, Reachable, UserAddress } from "@p2p/shared";
import { EXIT, PeerError, type PeerErrorCode } from "../errors.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { askSources, type Answers, type SourceAddress } from "./ask-sources.ts";
import { ensureSpace } from "./disk-space.ts";
import { kindOf, PartFile, partPathOf, type Resumed } from "./part-file.ts";
import { mapMismatch, type PieceMap } from "./piece-map.ts";
import { lockSave } from "./save-lock.ts";
import { reachableFirst, unreachableNote } from "./source-order.ts";
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
  /** Its piece hashes, proved against its root: the piece map it can now serve. */
  leaves: Buffer;
  sources: SourceReport[];
  transferred: number;
  resumedBytes: number;
  refetched: number;
}

/** A user's address, and whether the tracker could connect to it (absent: not known). */
export type KnownUser = UserAddress & { reachable?: Reachable };

/** Where a download looks up sources; both are local caches, never the tracker. */
export interface SourceDirectory {
  lookup(user: string): KnownUser;
  find(user: string): KnownUser | undefined;
  listing(user: string, path: string): FileListing | undefined;
  holders(root: string, size: number): FileListing[];
}

export interface DownloadTiming {
  /** How long a source may take to connect and send its piece map. */
  answerWithinMs: number;
}

export const DEFAULT_TIMING: DownloadTiming = { answerWithinMs: 10_000 };

const failed = (code: PeerErrorCode, message: string) => new PeerError(code, message, EXIT.downloadFailed);

export async function downloadFile(directory: SourceDirectory, request: DownloadRequest, timing: DownloadTiming = DEFAULT_TIMING): Promise<DownloadResult> {
  const { user, path, save, signal } = request;
  const named = directory.lookup(user);
  // The registered root is what every piece is proved against: without it there is nothing to verify.
  const expected = directory.listing(user, path);
  if (!expected) {
    throw failed("not-found", `${path} is not offered by ${user} (not in the local file index): check the path with list-files`);
  }
  await checkTarget(save, request.force);
  try {
    await mkdir(dirname(save), { recursive: true });
  } catch (error) {
    throw writeFailure(error, dirname(save));
  }
  const lock = await lockSave(save);
  // Everything opened below is closed on every path: the lock, the part file, every connection.
  let answers: Answers | undefined;
  let resumed: Resumed | null = null;
  try {
    await checkTarget(save, request.force);
    // What an interrupted run left is checked before any source is asked, so no connection idles meanwhile.
    resumed = await PartFile.resume(save, expected);
    const sources = sourcesFor(directory, request, named, expected);
    answers = askSources(sources, {
      answerWithinMs: timing.answerWithinMs,
      size: expected.size,
      ...(signal ? { signal } : {}),
    });
    const result = await fetchInto(request, expected, answers, resumed, unreachableNote(sources));
    resumed = null;
    return result;
  } finally {
    answers?.cancel();
    await resumed?.part.suspend();
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

/**
 * Sources asked for one download at most: enough for any real swarm, and a
 * bound on the connections a listing full of made-up holders can make a
 * downloader open to hosts of someone else's choosing.
 */
const MAX_SOURCES = 16;

/**
 * The named user, then other holders of the same content (same size and
 * root), at most MAX_SOURCES in all, those the tracker could reach first.
 */
export function sourcesFor(directory: SourceDirectory, request: DownloadRequest, named: KnownUser, expected: FileListing): SourceAddress[] {
  const { user, path } = request;
  const others: SourceAddress[] = [];
  if (!request.singleSource) {
    for (const holder of directory.holders(expected.root, expected.size)) {
      if (holder.user === user || holder.user === request.self || others.some((s) => s.user === holder.user)) continue;
      const address = directory.find(holder.user);
      if (address) others.push({ ...address, path: holder.path });
    }
  }
  // The named user is always asked; of the others, those the tracker could reach come first.
  return reachableFirst([{ ...named, path }, ...reachableFirst(others).slice(0, MAX_SOURCES - 1)]);
}

/**
 * Each source's piece map is checked against the registered root on its own,
 * as it arrives: the first one that proves itself starts the download, later
 * ones join it, and one that cannot prove itself is dropped as a liar. No
 * source waits for another and no vote is taken, so neither a frozen holder
 * nor any number of fake ones can stop an honest source.
 */
async function fetchInto(request: DownloadRequest, expected: FileListing, answers: Answers, resumed: Resumed | null, note: string): Promise<DownloadResult> {
  const { user, path, save, signal } = request;
  const dropped: SourceReport[] = [];
  const drop = (report: SourceReport) => {
    dropped.push(report);
    request.onDrop?.(report);
  };
  const dropAnswer = (name: string, reason: string) => drop({ user: name, pieces: 0, bytes: 0, dropped: reason });
  const aborted = () => failed("aborted", `the download was cancelled; ${partPathOf(save)} is kept if anything was verified: run the same download again to resume`);
  let namedFailure: PeerError | undefined;

  /** The next source whose map proves itself, dropping the others; undefined when none is left. */
  const nextProven = async (): Promise<{ source: SwarmSource; map: PieceMap } | undefined> => {
    for (let answer = await answers.next(); answer !== undefined; answer = await answers.next()) {
      if (!answer.ok) {
        if (answer.user === user) namedFailure = answer.error;
        dropAnswer(answer.user, answer.error.message);
        continue;
      }
      const lie = mapMismatch(answer.map, expected);
      if (lie === undefined) return answer;
      answer.source.connection.close();
      dropAnswer(answer.source.user, lie);
    }
    return undefined;
  };

  const first = await nextProven();
  if (signal?.aborted) {
    first?.source.connection.close();
    throw aborted();
  }
  if (!first) {
    if (namedFailure && dropped.length === 1) throw failed(namedFailure.code, `cannot download ${path} from ${user}: ${namedFailure.message}${note}`);
    throw failed(namedFailure?.code ?? "no-source", `no source can deliver ${path}: ${dropped.map((d) => `${d.user}: ${d.dropped}`).join("; ")}${note}`);
  }
  // A resumed part's map gave the same root as this one: it is the same map.
  const map = resumed?.part.map ?? first.map;
  let opened: Resumed;
  try {
    await ensureSpace(dirname(save), map.size - (resumed ? await resumed.part.allocatedBytes() : 0), save);
    opened = resumed ?? (await PartFile.create(save, map));
  } catch (error) {
    first.source.connection.close();
    throw error;
  }
  const { part, have, resumedBytes } = opened;
  const swarm = new Swarm({
    map,
    part,
    have,
    onPiece: () => {},
    onProgress: (bytes, active) => request.onProgress?.(bytes, map.size, active),
    onDrop: drop,
    ...(signal ? { signal } : {}),
  });
  swarm.add(first.source);
  void (async () => {
    for (let next = await nextProven(); next !== undefined; next = await nextProven()) swarm.add(next.source);
    swarm.closeJoins();
  })();

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
  // Every piece matched its hash in a map that gives the registered root: the file is the registered content.
  const file = await part.complete(request.force);
  const droppedUsers = new Set(dropped.map((d) => d.user));
  return {
    file,
    leaves: Buffer.concat(map.hashes),
    sources: [...result.sources.filter((s) => !droppedUsers.has(s.user)), ...dropped],
    transferred: result.transferred,
    resumedBytes,
    refetched: result.refetched,
  };
}
