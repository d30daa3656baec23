/**
 * One download, start to finish: find the sources (the named user, plus
 * every other online holder of the same content from the cached index),
 * agree on a piece map, fetch the missing pieces from all sources into
 * `<save>.part`, check the whole file, then rename it into place.
 * No tracker traffic: addresses come from the local user map.
 */
import { lstat, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { UserAddress } from "@p2p/shared";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { SourceConnection, type PieceMap } from "./source-connection.ts";
import { chooseMap, type Candidate } from "./choose-map.ts";
import { OrderedHasher } from "./ordered-hasher.ts";
import { PartFile, partPathOf, readPartState } from "./part-file.ts";
import { runSwarm, type SourceReport, type SwarmSource } from "./swarm.ts";
import type { FileIndex } from "../peer/file-index.ts";
import type { UserMap } from "../peer/user-map.ts";

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
  file: OfferedFile;
  sources: SourceReport[];
  transferred: number;
  resumedBytes: number;
  refetched: number;
}

export interface DownloadContext {
  userMap: UserMap;
  fileIndex: FileIndex;
  refreshSeconds: number;
}

/** Saves being written right now, so two downloads never share a `.part`. */
const inFlight = new Set<string>();

const failed = (code: string, message: string) => new PeerError(code, message, EXIT.downloadFailed);

export async function downloadFile(context: DownloadContext, request: DownloadRequest): Promise<DownloadResult> {
  const { user, save } = request;
  const named = context.userMap.lookup(user, context.refreshSeconds);
  if (inFlight.has(save)) throw failed("busy", `a download to ${save} is already running`);
  const existing = await lstat(save).catch(() => null);
  if (existing?.isDirectory()) throw failed("exists", `${save} is a directory; give a file path to save to`);
  if (existing && !request.force) throw failed("exists", `${save} already exists; use --force to overwrite it`);

  inFlight.add(save);
  try {
    return await fetchInto(context, request, named);
  } finally {
    inFlight.delete(save);
  }
}

async function fetchInto(context: DownloadContext, request: DownloadRequest, named: UserAddress): Promise<DownloadResult> {
  const { user, path, save, signal } = request;
  const expected = context.fileIndex.find(user, path);
  const sources = [{ ...named, path }];
  if (!request.singleSource && expected) {
    for (const holder of context.fileIndex.holders(expected.sha256, expected.size)) {
      if (holder.user === user || holder.user === request.self || sources.some((s) => s.user === holder.user)) continue;
      const address = context.userMap.list().find((u) => u.user === holder.user);
      if (address) sources.push({ ...address, path: holder.path });
    }
  }

  // Connect to every source and ask each for its piece map, all at once.
  const dropped: SourceReport[] = [];
  const drop = (report: SourceReport) => {
    dropped.push(report);
    request.onDrop?.(report);
  };
  type Answer = { ok: true; source: SwarmSource; map: PieceMap } | { ok: false; user: string; error: Error };
  const answers = await Promise.all(
    sources.map(async (source): Promise<Answer> => {
      try {
        const connection = await SourceConnection.open({ host: source.host, port: source.port, owner: source.user, ...(signal ? { signal } : {}) });
        try {
          return { ok: true, source: { user: source.user, path: source.path, connection }, map: await connection.pieceMap(source.path) };
        } catch (error) {
          connection.close();
          throw error;
        }
      } catch (error) {
        return { ok: false, user: source.user, error: error as Error };
      }
    }),
  );
  if (signal?.aborted) {
    for (const answer of answers) if (answer.ok) answer.source.connection.close();
    throw failed("aborted", "the download was cancelled");
  }
  const candidates: Candidate<SwarmSource>[] = [];
  for (const answer of answers) {
    if (answer.ok) candidates.push({ source: answer.source, map: answer.map });
    else if (answer.user === user && sources.length === 1) throw fromNamed(answer.error);
    else drop({ user: answer.user, pieces: 0, bytes: 0, dropped: errorMessage(answer.error) });
  }
  const earlier = await readPartState(save);
  const chosen = chooseMap(candidates, expected, earlier);
  for (const { source, reason } of chosen?.disagree ?? []) {
    source.connection.close();
    drop({ user: source.user, pieces: 0, bytes: 0, dropped: reason });
  }
  if (!chosen) {
    const first = answers.find((a) => !a.ok && a.user === user);
    if (first && !first.ok) throw fromNamed(first.error);
    throw failed("no-source", `no source can deliver ${path}: ${dropped.map((d) => `${d.user}: ${d.dropped}`).join("; ")}`);
  }

  const { map } = chosen;
  await mkdir(dirname(save), { recursive: true });
  const hasher = new OrderedHasher(map.hashes.length, map.pieceSize);
  const { part, have, resumedBytes } = await PartFile.open(save, map, (i, data) => hasher.add(i, data));
  let result;
  try {
    result = await runSwarm({
      sources: chosen.agree,
      map,
      part,
      have,
      onPiece: (i, data) => hasher.add(i, data),
      onProgress: (bytes, active) => request.onProgress?.(bytes, map.size, active),
      onDrop: drop,
      ...(signal ? { signal } : {}),
    });
  } catch (error) {
    await part.suspend();
    throw error;
  }
  if (!result.complete) {
    await part.suspend();
    if (signal?.aborted) throw failed("aborted", `the download was cancelled; ${partPathOf(save)} is kept: run the same download again to resume`);
    const reasons = dropped.map((d) => `${d.user}: ${d.dropped}`).join("; ");
    throw failed(
      "no-source",
      `no source is left to deliver the rest of ${path} (${reasons}); the verified pieces are kept in ${partPathOf(save)}: run the same download again to resume`,
    );
  }

  const sha256 = await hasher.digest((i) => part.readPiece(i));
  if (sha256 !== map.sha256) {
    await part.discard();
    throw failed("corrupt", `the assembled file's SHA-256 is ${sha256}, not the registered ${map.sha256}; the sources' piece map was wrong, nothing was kept`);
  }
  await part.complete();
  const info = await stat(save);
  return {
    file: { path: save, size: map.size, sha256, dev: info.dev, ino: info.ino, mtimeMs: info.mtimeMs },
    sources: [...result.sources.filter((s) => !dropped.some((d) => d.user === s.user)), ...dropped],
    transferred: result.transferred,
    resumedBytes,
    refetched: result.refetched,
  };

  function fromNamed(error: Error): PeerError {
    const code = error instanceof PeerError ? error.code : "failed";
    return failed(code, `cannot download ${path} from ${user}: ${error.message}`);
  }
}
