/**
 * Fetches the missing pieces of one file from every source at once. Each
 * source pulls the next piece when it has room, so faster sources get more.
 * Near the end a source with nothing left to do may double up on a piece
 * another source is still fetching, so one slow source cannot hold the
 * download back; that costs at most one extra piece per source. A source
 * that fails or lies is dropped and its pieces go back to the queue; only
 * when no source is left does the download fail.
 */
import { hash } from "node:crypto";
import { errorMessage } from "../errors.ts";
import type { PieceMap, SourceConnection } from "./source-connection.ts";
import type { PartFile } from "./part-file.ts";

export interface SwarmSource {
  user: string;
  path: string;
  connection: SourceConnection;
}

export interface SourceReport {
  user: string;
  pieces: number;
  bytes: number;
  /** Why the source was dropped, if it was. */
  dropped?: string;
}

export interface SwarmResult {
  sources: SourceReport[];
  /** Pieces asked for again after a source failed or lied. */
  refetched: number;
  /** Bytes fetched in this run, duplicates included. */
  transferred: number;
  complete: boolean;
}

export interface SwarmOptions {
  sources: readonly SwarmSource[];
  map: PieceMap;
  part: PartFile;
  have: readonly boolean[];
  /** A verified piece; `data` is reused once this returns, so copy what must be kept. */
  onPiece: (index: number, data: Buffer) => void;
  onProgress: (verifiedBytes: number, activeSources: number) => void;
  onDrop: (report: SourceReport) => void;
  signal?: AbortSignal;
}

/** Bytes each source keeps requested ahead, so its connection never idles. */
const BYTES_IN_FLIGHT_PER_SOURCE = 2 * 1024 * 1024;

export async function runSwarm(options: SwarmOptions): Promise<SwarmResult> {
  const { map, part } = options;
  const count = map.hashes.length;
  const done = [...options.have];
  let doneCount = done.filter(Boolean).length;
  let verifiedBytes = done.reduce((sum, has, i) => (has ? sum + part.pieceLength(i) : sum), 0);
  const queue: number[] = [];
  for (let i = 0; i < count; i++) if (!done[i]) queue.push(i);
  const fetching = new Map<number, Set<SwarmSource>>();
  const reports = new Map<SwarmSource, SourceReport>(options.sources.map((s) => [s, { user: s.user, pieces: 0, bytes: 0 }]));
  const alive = new Set(options.sources);
  const outstanding = new Map<SwarmSource, number>(options.sources.map((s) => [s, 0]));
  // Endgame doubling is bounded: one duplicate piece per source over the whole download.
  let duplicatesLeft = options.sources.length;
  let refetched = 0;
  let transferred = 0;
  let stopped = false;

  // Every lane waiting for work wakes on any change: a piece done, a piece requeued, a source gone.
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => (wake = resolve));
  const notify = () => {
    const current = wake;
    changed = new Promise<void>((resolve) => (wake = resolve));
    current();
  };

  const finished = () => stopped || doneCount === count;

  const drop = (source: SwarmSource, reason: string) => {
    if (!alive.delete(source)) return;
    const report = reports.get(source)!;
    report.dropped = reason;
    source.connection.close();
    options.onDrop(report);
    notify();
  };

  const release = (piece: number, source: SwarmSource, failed: boolean) => {
    const fetchers = fetching.get(piece);
    fetchers?.delete(source);
    if (fetchers?.size === 0) fetching.delete(piece);
    if (failed && !done[piece] && !fetching.has(piece)) {
      queue.unshift(piece);
      refetched++;
      notify();
    }
  };

  const pick = (source: SwarmSource): number | undefined => {
    while (queue.length > 0) {
      const piece = queue.shift()!;
      if (!done[piece]) return piece;
    }
    // Endgame: an idle source helps with a piece exactly one other source is still fetching.
    if (duplicatesLeft === 0 || outstanding.get(source) !== 0) return undefined;
    for (const [piece, fetchers] of fetching) {
      if (!done[piece] && fetchers.size === 1 && !fetchers.has(source)) {
        duplicatesLeft--;
        return piece;
      }
    }
    return undefined;
  };

  const lane = async (source: SwarmSource): Promise<void> => {
    // One buffer per lane, reused for every piece it fetches: no garbage per piece.
    const scratch = Buffer.allocUnsafe(map.pieceSize);
    while (!finished() && alive.has(source)) {
      const piece = pick(source);
      if (piece === undefined) {
        await changed;
        continue;
      }
      let fetchers = fetching.get(piece);
      if (!fetchers) fetching.set(piece, (fetchers = new Set()));
      fetchers.add(source);
      const offset = piece * map.pieceSize;
      const length = part.pieceLength(piece);
      let data: Buffer;
      outstanding.set(source, outstanding.get(source)! + 1);
      try {
        data = await source.connection.range(source.path, offset, length, { size: map.size, sha256: map.sha256 }, scratch);
      } catch (error) {
        release(piece, source, true);
        if (!stopped) drop(source, errorMessage(error));
        return;
      } finally {
        outstanding.set(source, outstanding.get(source)! - 1);
      }
      transferred += data.length;
      if (done[piece]) {
        release(piece, source, false);
        continue;
      }
      if (!hash("sha256", data, "buffer").equals(map.hashes[piece]!)) {
        release(piece, source, true);
        drop(source, `piece ${piece} failed its hash check`);
        return;
      }
      // Claimed and handed on at once, in arrival order (which is piece order
      // for one source), before the write: the whole-file hash then rarely has
      // to hold a piece back. The lane still waits for its write before it
      // takes more, so the swarm never ends with a write in flight.
      done[piece] = true;
      doneCount++;
      verifiedBytes += data.length;
      const report = reports.get(source)!;
      report.pieces++;
      report.bytes += data.length;
      options.onPiece(piece, data);
      await part.writePiece(piece, data);
      release(piece, source, false);
      options.onProgress(verifiedBytes, alive.size);
      notify();
    }
  };

  const onAbort = () => {
    stopped = true;
    for (const source of alive) source.connection.close();
    notify();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  // A signal aborted before the call never fires "abort".
  if (options.signal?.aborted) onAbort();
  try {
    options.onProgress(verifiedBytes, alive.size);
    await Promise.all(
      options.sources.flatMap((source) => {
        const lanes = Math.max(2, Math.min(16, Math.ceil(BYTES_IN_FLIGHT_PER_SOURCE / map.pieceSize)));
        return Array.from({ length: lanes }, () => lane(source));
      }),
    );
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    for (const source of options.sources) source.connection.close();
  }
  return { sources: [...reports.values()], refetched, transferred, complete: doneCount === count };
}
