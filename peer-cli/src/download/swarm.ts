/**
 * Fetches the missing pieces of one file from every source at once. Each
 * source pulls the next piece when it has room, so faster sources get more.
 * Sources may join while the swarm runs (a holder whose piece map came late).
 * Near the end a source with nothing left to do may double up on a piece
 * another source is still fetching (the ones it asked for last first): a
 * window of pieces per source at any time, and again
 * whenever a piece is late (far slower than pieces have been taking), so
 * neither a slow source nor one that trickles bytes on purpose can hold the
 * download back; only sources that would otherwise sit idle do this. A source
 * that fails or lies is dropped and its pieces go back to the queue; only
 * when no source is left (and none is still to join) does the download stop.
 * A failed write is this disk's fault, not a source's: it stops every lane
 * and fails the download, dropping nobody.
 */
import { hash } from "node:crypto";
import { errorMessage } from "../errors.ts";
import type { PartFile } from "./part-file.ts";
import type { PieceMap } from "./piece-map.ts";
import type { SourceConnection } from "./source-connection.ts";
import { writeFailure } from "./write-failure.ts";

export interface SwarmSource {
  user: string;
  path: string;
  connection: SourceConnection;
}

/** What one source did for a download, shown to the user and in `--json`. */
export interface SourceReport {
  user: string;
  /** Pieces this source delivered and that checked out. */
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

/** A piece is late after this many times the median time pieces have taken, and never sooner than LATE_MIN_MS. */
const LATE_FACTOR = 4;
const LATE_MIN_MS = 2000;
/** Idle lanes look for late pieces this often. */
const LATE_CHECK_MS = 500;
/** Recent piece times kept for the median. */
const DURATIONS_KEPT = 32;

export class Swarm {
  readonly #options: SwarmOptions;
  readonly #map: PieceMap;
  readonly #part: PartFile;
  readonly #count: number;
  readonly #done: boolean[];
  #doneCount: number;
  #verifiedBytes: number;
  readonly #queue: number[] = [];
  /** Pieces being fetched: by whom, since when. */
  readonly #fetching = new Map<number, Map<SwarmSource, number>>();
  readonly #durations: number[] = [];
  readonly #reports = new Map<SwarmSource, SourceReport>();
  readonly #alive = new Set<SwarmSource>();
  readonly #outstanding = new Map<SwarmSource, number>();
  readonly #lanes: Promise<void>[] = [];
  #duplicatesLeft = 0;
  #refetched = 0;
  #transferred = 0;
  #stopped = false;
  #joinsOpen = true;
  #fatal: Error | undefined;
  // Every waiter wakes on any change: a piece done, a piece requeued, a source gone or added.
  #wake: () => void = () => {};
  #changed: Promise<void>;

  constructor(options: SwarmOptions) {
    this.#options = options;
    this.#map = options.map;
    this.#part = options.part;
    this.#count = options.map.hashes.length;
    this.#done = [...options.have];
    this.#doneCount = this.#done.filter(Boolean).length;
    this.#verifiedBytes = this.#done.reduce((sum, has, i) => (has ? sum + options.part.pieceLength(i) : sum), 0);
    for (let i = 0; i < this.#count; i++) if (!this.#done[i]) this.#queue.push(i);
    this.#changed = new Promise<void>((resolve) => (this.#wake = resolve));
  }

  get finished(): boolean {
    return this.#stopped || this.#doneCount === this.#count;
  }

  /** Puts a source to work; a source added after the swarm finished is closed at once. */
  add(source: SwarmSource): void {
    if (this.finished || this.#fatal) {
      source.connection.close();
      return;
    }
    this.#reports.set(source, { user: source.user, pieces: 0, bytes: 0 });
    this.#alive.add(source);
    this.#outstanding.set(source, 0);
    const lanes = Math.max(2, Math.min(16, Math.ceil(BYTES_IN_FLIGHT_PER_SOURCE / this.#map.pieceSize)));
    // Endgame doubling is bounded: one window of pieces per source over the whole download.
    this.#duplicatesLeft += lanes;
    for (let i = 0; i < lanes; i++) this.#lanes.push(this.#lane(source));
    this.#notify();
  }

  /** No more sources will be added: once the last one is gone, the swarm gives up. */
  closeJoins(): void {
    this.#joinsOpen = false;
    this.#notify();
  }

  /**
   * Runs until every piece is in, every source is gone with no more to join,
   * or the signal aborts. Rejects (after every lane has stopped) when writing
   * to the part file fails.
   */
  async run(): Promise<SwarmResult> {
    const { signal } = this.#options;
    const onAbort = () => this.#stop();
    signal?.addEventListener("abort", onAbort, { once: true });
    // A signal aborted before the call never fires "abort".
    if (signal?.aborted) onAbort();
    try {
      this.#options.onProgress(this.#verifiedBytes, this.#alive.size);
      while (!this.finished && !(this.#alive.size === 0 && !this.#joinsOpen)) await this.#changed;
      // Requests still out (a duplicate, a slow source's pieces) are not needed any more: end them, so no lane waits on them.
      for (const source of this.#reports.keys()) source.connection.close();
      // Lanes never reject; waiting for all of them means no write is left in flight.
      await Promise.all(this.#lanes);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      for (const source of this.#reports.keys()) source.connection.close();
    }
    if (this.#fatal) throw this.#fatal;
    return {
      sources: [...this.#reports.values()],
      refetched: this.#refetched,
      transferred: this.#transferred,
      complete: this.#doneCount === this.#count,
    };
  }

  #stop(): void {
    this.#stopped = true;
    for (const source of this.#alive) source.connection.close();
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#changed = new Promise<void>((resolve) => (this.#wake = resolve));
    wake();
  }

  #drop(source: SwarmSource, reason: string): void {
    if (!this.#alive.delete(source)) return;
    const report = this.#reports.get(source);
    source.connection.close();
    if (report) {
      report.dropped = reason;
      this.#options.onDrop(report);
    }
    this.#notify();
  }

  #release(piece: number, source: SwarmSource, failed: boolean): void {
    const fetchers = this.#fetching.get(piece);
    fetchers?.delete(source);
    if (fetchers?.size === 0) this.#fetching.delete(piece);
    if (!failed || this.#done[piece]) return;
    // Counted even when an endgame duplicate already has it in flight: its bytes still come from elsewhere.
    this.#refetched++;
    if (!this.#fetching.has(piece)) {
      this.#queue.unshift(piece);
      this.#notify();
    }
  }

  /** How long a piece may take before an idle source may fetch it too. */
  #lateAfterMs(): number {
    if (this.#durations.length === 0) return 5 * LATE_MIN_MS;
    const sorted = [...this.#durations].sort((a, b) => a - b);
    return Math.max(LATE_MIN_MS, LATE_FACTOR * (sorted[Math.floor(sorted.length / 2)] ?? 0));
  }

  #pick(source: SwarmSource): number | undefined {
    for (let piece = this.#queue.shift(); piece !== undefined; piece = this.#queue.shift()) {
      if (!this.#done[piece]) return piece;
    }
    // Endgame: a source with room helps with a piece exactly one other source is still fetching,
    // the most recently asked first: those wait longest in that source's queue.
    const lateBefore = performance.now() - this.#lateAfterMs();
    for (const [piece, fetchers] of [...this.#fetching].reverse()) {
      if (this.#done[piece] || fetchers.size !== 1 || fetchers.has(source)) continue;
      if (this.#duplicatesLeft > 0) {
        this.#duplicatesLeft--;
        return piece;
      }
      for (const since of fetchers.values()) if (since < lateBefore) return piece;
    }
    return undefined;
  }

  async #lane(source: SwarmSource): Promise<void> {
    const map = this.#map;
    // One buffer per lane, reused for every piece it fetches: no garbage per piece.
    const scratch = Buffer.allocUnsafe(map.pieceSize);
    while (!this.finished && this.#alive.has(source)) {
      const piece = this.#pick(source);
      if (piece === undefined) {
        // Nothing to do now; a piece someone else is fetching may become late meanwhile.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.#changed, new Promise((resolve) => (timer = setTimeout(resolve, LATE_CHECK_MS)))]);
        clearTimeout(timer);
        continue;
      }
      let fetchers = this.#fetching.get(piece);
      if (!fetchers) this.#fetching.set(piece, (fetchers = new Map()));
      const started = performance.now();
      fetchers.set(source, started);
      const length = this.#part.pieceLength(piece);
      let data: Buffer;
      this.#outstanding.set(source, (this.#outstanding.get(source) ?? 0) + 1);
      try {
        data = await source.connection.range(source.path, piece * map.pieceSize, length, { size: map.size, root: map.root }, scratch);
      } catch (error) {
        this.#release(piece, source, true);
        // After the end (done, or stopped) a closed request is ours, not the source's failure.
        if (!this.finished) this.#drop(source, errorMessage(error));
        return;
      } finally {
        this.#outstanding.set(source, (this.#outstanding.get(source) ?? 1) - 1);
      }
      this.#transferred += data.length;
      if (this.#done[piece]) {
        this.#release(piece, source, false);
        continue;
      }
      if (!hash("sha256", data, "buffer").equals(map.hashes[piece] ?? Buffer.alloc(0))) {
        this.#release(piece, source, true);
        this.#drop(source, `piece ${piece} failed its hash check`);
        return;
      }
      this.#durations.push(performance.now() - started);
      if (this.#durations.length > DURATIONS_KEPT) this.#durations.shift();
      // Claimed and handed on at once, in arrival order (which is piece order
      // for one source), before the write: the whole-file hash then rarely has
      // to hold a piece back. The lane still waits for its write before it
      // takes more, so the swarm never ends with a write in flight.
      this.#done[piece] = true;
      this.#doneCount++;
      this.#options.onPiece(piece, data);
      try {
        await this.#part.writePiece(piece, data);
      } catch (error) {
        this.#done[piece] = false;
        this.#doneCount--;
        this.#release(piece, source, false);
        this.#fatal ??= writeFailure(error, this.#part.path, `the verified pieces are kept in ${this.#part.path}: make room and run the same download again to resume`);
        this.#stop();
        return;
      }
      this.#verifiedBytes += data.length;
      const report = this.#reports.get(source);
      if (report) {
        report.pieces++;
        report.bytes += data.length;
      }
      this.#release(piece, source, false);
      this.#options.onProgress(this.#verifiedBytes, this.#alive.size);
      this.#notify();
    }
  }
}

/** A swarm over a fixed set of sources, run to its end. */
export function runSwarm(options: SwarmOptions & { sources: readonly SwarmSource[] }): Promise<SwarmResult> {
  const swarm = new Swarm(options);
  for (const source of options.sources) swarm.add(source);
  swarm.closeJoins();
  return swarm.run();
}
