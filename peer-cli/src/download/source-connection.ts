/**
 * A downloader's persistent connection to one source's mini-server: piece
 * maps and ranges, pipelined, their answers matched to requests in order.
 */
import net from "node:net";
import {
  encodeLine,
  formatAddress,
  MAX_RANGE_BYTES,
  MAX_TRANSFER_HEADER_BYTES,
  parsePieceMapHeader,
  parseRangeHeader,
  PIECE_HASH_BYTES,
  TRANSFER_PROTOCOL_VERSION,
  type TransferRequest,
} from "@p2p/shared";
import { errorMessage, EXIT, PeerError, type PeerErrorCode } from "../errors.ts";
import { errnoCode } from "../files/errno.ts";
import { pieceMapOf, type PieceMap } from "./piece-map.ts";

export interface SourceConnectionOptions {
  host: string;
  port: number;
  /** The owning user's name, only for messages. */
  owner?: string;
  /** No traffic from the source for this long while requests are outstanding (or while connecting) fails the connection. Default 30 s. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Piece maps larger than this (two million pieces, tens of TiB) are refused rather than buffered. */
const MAX_PIECE_MAP_BYTES = 64 * 1024 * 1024;

type Pending =
  | { op: "pieces"; path: string; size: number | undefined; resolve: (map: PieceMap) => void; reject: (error: PeerError) => void }
  | {
      op: "range";
      path: string;
      offset: number;
      length: number;
      expect: { size: number; root: string };
      /** Where to put the bytes, if the caller reuses a buffer of at least `length`. */
      into: Buffer | undefined;
      resolve: (data: Buffer) => void;
      reject: (error: PeerError) => void;
    };

interface Body {
  /** Undefined while skipping a body nobody will use. */
  buffer: Buffer | undefined;
  total: number;
  filled: number;
  finish: (body: Buffer | undefined) => void;
}

const READ_BUFFER_BYTES = 256 * 1024;

const failure = (code: PeerErrorCode, message: string): PeerError => new PeerError(code, message, EXIT.downloadFailed);
const aborted = (): PeerError => failure("aborted", "the download was cancelled");

export class SourceConnection {
  readonly #socket: net.Socket;
  readonly #where: string;
  readonly #idleTimeoutMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#fail(aborted());
  /** Requests sent and not yet fully answered, oldest (the one being answered) first. */
  readonly #queue: Pending[] = [];
  #failure: PeerError | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #headerChunks: Buffer[] = [];
  #headerLength = 0;
  #body: Body | undefined;

  private constructor(socket: net.Socket, where: string, idleTimeoutMs: number, signal: AbortSignal | undefined) {
    this.#socket = socket;
    this.#where = where;
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#signal = signal;
    socket.setNoDelay(true);
    socket.on("error", (error) => this.#fail(failure("truncated", `the connection to ${where} failed: ${errnoCode(error)}`)));
    socket.on("close", () => this.#fail(this.#closedFailure()));
    signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (signal?.aborted) this.#onAbort();
  }

  static async open(options: SourceConnectionOptions): Promise<SourceConnection> {
    const { host, port, signal } = options;
    const where = `${options.owner === undefined ? "the peer's" : `${options.owner}'s`} mini-server at ${formatAddress(host, port)}`;
    const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
    if (signal?.aborted) throw aborted();

    // Reads land in one buffer of the connection's own, consumed (copied
    // into the piece's buffer) before the next read: no garbage per read.
    let receive: (chunk: Buffer) => void = () => {};
    const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const socket = net.connect({
      host,
      port,
      onread: {
        buffer: readBuffer,
        callback: (bytes: number) => {
          receive(readBuffer.subarray(0, bytes));
          return true;
        },
      },
    });
    // A late error must never crash the process; the instance listens too.
    socket.on("error", () => {});
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => settle(failure("unreachable", `cannot reach ${where}: timed out`)), idleTimeoutMs);
        const onAbort = (): void => settle(aborted());
        const onConnect = (): void => settle(undefined);
        const onError = (error: Error): void => settle(failure("unreachable", `cannot reach ${where}: ${errnoCode(error)}`));
        function settle(error: PeerError | undefined): void {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          socket.off("connect", onConnect);
          socket.off("error", onError);
          if (error === undefined) resolve();
          else reject(error);
        }
        signal?.addEventListener("abort", onAbort, { once: true });
        socket.once("connect", onConnect);
        socket.once("error", onError);
      });
    } catch (error) {
      socket.destroy();
      throw error;
    }
    const connection = new SourceConnection(socket, where, idleTimeoutMs, signal);
    receive = (chunk) => connection.#receive(chunk);
    return connection;
  }

  /**
   * The source's piece map of `path`. With `size` (the listed size), a map
   * for any other size is refused from its header, before anything is read
   * into memory: a fake holder cannot make this peer buffer a huge map.
   */
  pieceMap(path: string, size?: number): Promise<PieceMap> {
    return new Promise((resolve, reject) => {
      this.#send({ v: TRANSFER_PROTOCOL_VERSION, op: "pieces", path }, { op: "pieces", path, size, resolve, reject }, reject);
    });
  }

  /**
   * `length` bytes of `path` from `offset`. Several may be outstanding;
   * answers are matched to requests in order. Rejects "changed" if the
   * source now serves a file of another size or SHA-256 than `expect`.
   * With `into`, the bytes land in that buffer (a view of its first `length`
   * bytes is returned), so a caller can reuse one buffer for every piece.
   */
  range(path: string, offset: number, length: number, expect: { size: number; root: string }, into?: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1 || length > MAX_RANGE_BYTES) {
        reject(failure("bad-request", `cannot ask for ${length} bytes at ${offset}: a range is 1 to ${MAX_RANGE_BYTES} bytes at a non-negative offset`));
        return;
      }
      this.#send(
        { v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset, length },
        { op: "range", path, offset, length, expect, into: into && into.length >= length ? into : undefined, resolve, reject },
        reject,
      );
    });
  }

  /** Requests sent and not yet fully answered. */
  get outstanding(): number {
    return this.#queue.length;
  }

  get closed(): boolean {
    return this.#failure !== undefined;
  }

  /** Closes the connection; outstanding requests reject "aborted". */
  close(): void {
    this.#fail(failure("aborted", `the connection to ${this.#where} was closed`));
  }

  #send(request: TransferRequest, pending: Pending, reject: (error: PeerError) => void): void {
    if (this.#failure !== undefined) {
      reject(this.#failure);
      return;
    }
    this.#queue.push(pending);
    if (this.#stallTimer === undefined) {
      this.#stallTimer = setTimeout(
        () => this.#fail(failure("stalled", `${this.#where} sent nothing for ${this.#idleTimeoutMs} ms`)),
        this.#idleTimeoutMs,
      );
    }
    this.#socket.write(encodeLine(request));
  }

  /** Feeds received bytes through the answer parser: header line, body, next header… */
  #receive(chunk: Buffer): void {
    this.#stallTimer?.refresh();
    let at = 0;
    while (at < chunk.length && this.#failure === undefined) {
      const body = this.#body;
      if (body !== undefined) {
        const take = Math.min(chunk.length - at, body.total - body.filled);
        if (body.buffer !== undefined) chunk.copy(body.buffer, body.filled, at, at + take);
        body.filled += take;
        at += take;
        if (body.filled === body.total) this.#finishBody(body);
        continue;
      }

      const head = this.#queue[0];
      if (head === undefined) {
        this.#fail(failure("bad-reply", `${this.#where} sent data that was not asked for`));
        return;
      }
      const newline = chunk.indexOf(0x0a, at);
      const end = newline === -1 ? chunk.length : newline;
      this.#headerLength += end - at;
      if (newline === -1 ? this.#headerLength >= MAX_TRANSFER_HEADER_BYTES : this.#headerLength + 1 > MAX_TRANSFER_HEADER_BYTES) {
        this.#fail(failure("bad-reply", `the peer's reply header is longer than ${MAX_TRANSFER_HEADER_BYTES} bytes`));
        return;
      }
      // Copied: the chunk may be large and is otherwise done with.
      this.#headerChunks.push(Buffer.from(chunk.subarray(at, end)));
      if (newline === -1) return;
      at = newline + 1;
      const line = Buffer.concat(this.#headerChunks).toString("utf8");
      this.#headerChunks = [];
      this.#headerLength = 0;
      this.#onHeader(head, line);
    }
  }

  #onHeader(head: Pending, line: string): void {
    try {
      if (head.op === "pieces") {
        const header = parsePieceMapHeader(line);
        if (header.status !== "ok") {
          this.#fail(failure(header.status, header.message));
          return;
        }
        if (head.size !== undefined && header.size !== head.size) {
          this.#fail(failure("changed", `${this.#where} offers ${header.size} bytes for ${head.path}, not the listed ${head.size}: another file, or a lie`));
          return;
        }
        const bytes = header.count * PIECE_HASH_BYTES;
        if (bytes > MAX_PIECE_MAP_BYTES) {
          this.#fail(failure("bad-reply", `${this.#where} announced a piece map of ${header.count} pieces, more than this peer accepts`));
          return;
        }
        this.#startBody(bytes, true, (body) => {
          const hashes: Buffer[] = [];
          for (let i = 0; i < header.count; i++) hashes.push(body!.subarray(i * PIECE_HASH_BYTES, (i + 1) * PIECE_HASH_BYTES));
          // The root is recomputed from the hashes: what the source claims in its header proves nothing.
          head.resolve(pieceMapOf(header.size, header.pieceSize, hashes));
        });
        return;
      }

      const header = parseRangeHeader(line, head.offset, head.length);
      if (header.status !== "ok") {
        this.#fail(failure(header.status, header.message));
        return;
      }
      const { expect } = head;
      if (header.size !== expect.size || header.root !== expect.root) {
        // The connection itself is fine: skip the body and reject this range only.
        const message =
          `${this.#where} now serves another version of ${head.path} ` +
          `(${header.size} bytes, root ${header.root}; expected ${expect.size} bytes, root ${expect.root})`;
        this.#startBody(header.length, false, () => head.reject(failure("changed", message)));
        return;
      }
      this.#startBody(header.length, true, (body) => head.resolve(body!), head.into);
    } catch (error) {
      this.#fail(failure("bad-reply", errorMessage(error)));
    }
  }

  #startBody(bytes: number, keep: boolean, finish: (body: Buffer | undefined) => void, into?: Buffer): void {
    // At most one answer's body is ever held; a skipped one is only counted.
    const buffer = keep ? (into ? into.subarray(0, bytes) : Buffer.allocUnsafe(bytes)) : undefined;
    const body: Body = { buffer, total: bytes, filled: 0, finish };
    this.#body = body;
    if (bytes === 0) this.#finishBody(body);
  }

  #finishBody(body: Body): void {
    this.#body = undefined;
    this.#queue.shift();
    if (this.#queue.length === 0) this.#stopStallTimer();
    body.finish(body.buffer);
  }

  #stopStallTimer(): void {
    clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  #closedFailure(): PeerError {
    const body = this.#body;
    if (body !== undefined) {
      return failure("truncated", `${this.#where} closed the connection after ${body.filled} of ${body.total} bytes`);
    }
    const unanswered = this.#queue.length;
    if (unanswered > 0) {
      return failure(
        "truncated",
        `${this.#where} closed the connection with ${unanswered} request${unanswered === 1 ? "" : "s"} unanswered`,
      );
    }
    return failure("truncated", `${this.#where} closed the connection`);
  }

  /** Ends the connection for good: everything outstanding, and every later call, rejects with `error`. */
  #fail(error: PeerError): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#stopStallTimer();
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#socket.destroy();
    this.#body = undefined;
    for (const pending of this.#queue.splice(0)) pending.reject(error);
  }
}
