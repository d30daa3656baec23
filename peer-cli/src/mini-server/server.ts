/**
 * The mini-server: hands registered files to other peers over TCP, using the
 * protocol in @p2p/shared's transfer.ts. A connection carries one `get`, or
 * any number of `pieces` and `range` requests answered in order.
 */
import type { FileHandle } from "node:fs/promises";
import net from "node:net";
import { pipeline } from "node:stream/promises";
import {
  encodeLine,
  MAX_TRANSFER_HEADER_BYTES,
  parseTransferRequest,
  pieceCountFor,
  pieceSizeFor,
  type PieceMapHeader,
  type RangeHeader,
  type TransferHeader,
  type TransferRequest,
} from "@p2p/shared";
import { errorMessage } from "../errors.ts";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { openOffered as openChecked } from "./open-offered.ts";
import { PieceMapFailure, PieceMaps } from "./piece-maps.ts";
import { throttle } from "./throttle.ts";

export interface MiniServerOptions {
  files: { get(path: string): OfferedFile | undefined };
  /** 0 = any free port. */
  port?: number;
  /** Bind address, default "0.0.0.0". */
  host?: string;
  /** Concurrent connections served; more are answered "busy". Default 64. */
  maxConnections?: number;
  /** A client must send its whole first request line within this time. Default 10 s. */
  headerTimeoutMs?: number;
  /** A connection with no traffic either way for this long is dropped. Default 30 s. */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
  /** Caps each upload's rate; for tests and benchmarks only. */
  throttleBytesPerSecond?: number;
  /** Flips the first byte of every range body sent; for tests and benchmarks only. */
  corruptRanges?: boolean;
  /** The piece-map cache to use; by default the server makes its own. */
  pieceMaps?: PieceMaps;
}

export interface MiniServer {
  port: number;
  close(): Promise<void>;
  activeTransfers(): number;
}

/** Bytes read from disk and written to the socket at a time. */
const CHUNK_BYTES = 256 * 1024;
const THROTTLED_CHUNK_BYTES = 16 * 1024;

export async function startMiniServer(options: MiniServerOptions): Promise<MiniServer> {
  const { files } = options;
  const maxConnections = options.maxConnections ?? 64;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const log = options.log ?? (() => {});
  const pieceMaps = options.pieceMaps ?? new PieceMaps();

  const sockets = new Set<net.Socket>();
  let served = 0;
  let transfers = 0;

  // Half-open allowed so a client that shuts down its sending side after its
  // requests still receives the answers; our idle timeout bounds the lifetime.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Clients vanish mid-transfer all the time; that is not our failure.
    socket.on("error", (error) => log(`mini-server: ${remote(socket)}: ${errnoCode(error)}`));
    socket.setTimeout(idleTimeoutMs);
    socket.on("timeout", () => socket.destroy());

    if (served >= maxConnections) {
      reply(socket, { status: "busy", message: `the peer is serving ${maxConnections} connections; try again later` });
      return;
    }
    served++;
    socket.on("close", () => served--);

    serveConnection(socket).catch((error: unknown) => {
      log(`mini-server: ${remote(socket)}: ${errnoCode(error)}`);
      socket.destroy();
    });
  });

  async function serveConnection(socket: net.Socket): Promise<void> {
    const requests = new RequestLines(socket);
    for (let first = true; ; first = false) {
      // The first request has an absolute deadline; later ones only the idle timeout.
      const next = await requests.next(first ? headerTimeoutMs : undefined);
      if (next === "closed") return;
      if (next === "ended" && !first) {
        // The client has asked all it wanted and everything is answered.
        socket.end();
        return;
      }
      if (typeof next !== "object") {
        requests.discard();
        reply(socket, {
          status: "bad-request",
          message: next === "too-long" ? `the request line is longer than ${MAX_TRANSFER_HEADER_BYTES} bytes` : "the request ended without a newline",
        });
        return;
      }

      let request: TransferRequest;
      try {
        request = parseTransferRequest(next.line);
      } catch (error) {
        requests.discard();
        reply(socket, { status: "bad-request", message: errorMessage(error) });
        return;
      }

      if (request.op === "get") {
        // Nothing after a get is part of the protocol; keep draining it so
        // unread input never turns our close into a reset.
        requests.discard();
        await sendFile(socket, request.path);
        return;
      }
      const more = request.op === "range" ? await sendRange(socket, request) : await sendPieceMap(socket, request.path);
      if (!more) {
        requests.discard();
        return;
      }
    }
  }

  /** The registered file, or undefined after answering not-found. */
  function lookup(socket: net.Socket, path: string): OfferedFile | undefined {
    // Exact string match only: no normalisation, so "/a/../b" is never "/b".
    const offered = files.get(path);
    if (offered === undefined) reply(socket, { status: "not-found", message: `${path} is not offered by this peer` });
    return offered;
  }

  /**
   * Opens the registered file and checks that the handle is still the file
   * registered; undefined after answering changed or error.
   */
  async function openOffered(socket: net.Socket, offered: OfferedFile): Promise<FileHandle | undefined> {
    const opened = await openChecked(offered);
    if ("handle" in opened) return opened.handle;
    reply(socket, opened.refusal);
    return undefined;
  }

  /** `get`: the whole file, then the connection ends. */
  async function sendFile(socket: net.Socket, path: string): Promise<void> {
    const offered = lookup(socket, path);
    if (offered === undefined) return;
    const handle = await openOffered(socket, offered);
    if (handle === undefined) return;

    let streaming = false;
    try {
      if (socket.destroyed) return;
      const header: TransferHeader = { status: "ok", size: offered.size, sha256: offered.sha256 };
      if (offered.size === 0) {
        socket.end(encodeLine(header));
        return;
      }
      socket.write(encodeLine(header));
      streaming = true;
      transfers++;
      // Bounded by `end`, so a file that grew since registration sends only
      // the registered bytes; the stream closes the handle when it is done.
      const body = handle.createReadStream({ start: 0, end: offered.size - 1, highWaterMark: CHUNK_BYTES });
      if (options.throttleBytesPerSecond) await pipeline(body, throttle(options.throttleBytesPerSecond), socket);
      else await pipeline(body, socket);
      log(`mini-server: sent ${path} (${offered.size} bytes) to ${remote(socket)}`);
    } catch (error) {
      log(`mini-server: sending ${path} to ${remote(socket)} stopped: ${errnoCode(error)}`);
      socket.destroy();
    } finally {
      if (streaming) transfers--;
      await handle.close().catch(() => {});
    }
  }

  /** `range`: `length` bytes from `offset`; true when the connection may go on. */
  async function sendRange(socket: net.Socket, request: { path: string; offset: number; length: number }): Promise<boolean> {
    const { path, offset, length } = request;
    const offered = lookup(socket, path);
    if (offered === undefined) return false;
    if (offset + length > offered.size) {
      reply(socket, {
        status: "bad-request",
        message: `the range of ${length} bytes at ${offset} passes the end of ${path}, which has ${offered.size} bytes`,
      });
      return false;
    }
    transfers++;
    try {
      const handle = await openOffered(socket, offered);
      if (handle === undefined) return false;
      try {
        if (socket.destroyed) return false;
        const header: RangeHeader = { status: "ok", size: offered.size, sha256: offered.sha256, offset, length };
        socket.write(encodeLine(header));
        await sendBytes(socket, handle, offset, length);
        return true;
      } finally {
        await handle.close().catch(() => {});
      }
    } catch (error) {
      log(`mini-server: sending ${length} bytes at ${offset} of ${path} to ${remote(socket)} stopped: ${errnoCode(error)}`);
      socket.destroy();
      return false;
    } finally {
      transfers--;
    }
  }

  /** Exactly `length` bytes of the handle from `offset`, with backpressure. */
  async function sendBytes(socket: net.Socket, handle: FileHandle, offset: number, length: number): Promise<void> {
    const bytesPerSecond = options.throttleBytesPerSecond;
    const chunkBytes = bytesPerSecond ? THROTTLED_CHUNK_BYTES : CHUNK_BYTES;
    const started = performance.now();
    const end = offset + length;
    let position = offset;
    // Two buffers per connection, taking turns: one is read into while the socket
    // still holds the other, and neither is reused before the socket let it go.
    const buffers = chunkBuffers(socket, chunkBytes);
    let turn = 0;
    while (position < end) {
      const slot = buffers[turn++ % 2]!;
      await slot.released;
      const chunk = slot.buffer.subarray(0, Math.min(chunkBytes, end - position));
      let filled = 0;
      while (filled < chunk.length) {
        const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, position + filled);
        if (bytesRead === 0) throw new Error("the file shrank while it was being sent");
        filled += bytesRead;
      }
      if (position === offset && options.corruptRanges) chunk[0] = chunk[0]! ^ 0xff;
      position += chunk.length;
      if (bytesPerSecond) {
        const wait = started + ((position - offset) / bytesPerSecond) * 1000 - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const sent = send(socket, chunk);
      slot.released = sent.released;
      await sent.drained;
    }
  }

  /** `pieces`: the piece map; true when the connection may go on. */
  async function sendPieceMap(socket: net.Socket, path: string): Promise<boolean> {
    const offered = lookup(socket, path);
    if (offered === undefined) return false;
    transfers++;
    // Hashing a big file the first time can take a while without traffic.
    socket.setTimeout(0);
    try {
      let digests: Buffer;
      try {
        digests = await pieceMaps.get(offered);
      } catch (error) {
        if (!(error instanceof PieceMapFailure)) throw error;
        reply(socket, { status: error.status, message: error.message });
        return false;
      }
      if (socket.destroyed) return false;
      const pieceSize = pieceSizeFor(offered.size);
      const header: PieceMapHeader = {
        status: "ok",
        size: offered.size,
        sha256: offered.sha256,
        pieceSize,
        count: pieceCountFor(offered.size, pieceSize),
      };
      socket.write(encodeLine(header));
      await write(socket, digests);
      return true;
    } catch (error) {
      log(`mini-server: sending the piece map of ${path} to ${remote(socket)} stopped: ${errnoCode(error)}`);
      socket.destroy();
      return false;
    } finally {
      transfers--;
      if (!socket.destroyed) socket.setTimeout(idleTimeoutMs);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (error) => log(`mini-server: ${errnoCode(error)}`));

  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the mini-server has no TCP address");

  let closing: Promise<void> | undefined;
  return {
    port: address.port,
    activeTransfers: () => transfers,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

type NextRequest = { line: string } | "ended" | "too-long" | "unterminated" | "closed";

/**
 * The client's request lines, one at a time. Bytes after a newline (the next
 * pipelined request) are kept for the next call; reading pauses while a whole
 * line or MAX_TRANSFER_HEADER_BYTES are waiting, so memory stays bounded.
 */
class RequestLines {
  readonly #socket: net.Socket;
  #pending: Buffer = Buffer.alloc(0);
  #ended = false;
  #closed = false;
  #discarding = false;
  #wake: (() => void) | undefined;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      if (this.#discarding) return;
      this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
      if (this.#pending.length >= MAX_TRANSFER_HEADER_BYTES || chunk.includes(0x0a)) socket.pause();
      this.#wake?.();
    });
    socket.once("end", () => {
      this.#ended = true;
      this.#wake?.();
    });
    socket.once("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  /** The next request line; on timeout the connection is destroyed and "closed" returned. */
  async next(timeoutMs?: number): Promise<NextRequest> {
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    for (;;) {
      if (this.#closed) return "closed";
      const newline = this.#pending.indexOf(0x0a);
      if (newline !== -1) {
        if (newline + 1 > MAX_TRANSFER_HEADER_BYTES) return "too-long";
        const line = this.#pending.subarray(0, newline).toString("utf8");
        this.#pending = this.#pending.subarray(newline + 1);
        return { line };
      }
      if (this.#pending.length >= MAX_TRANSFER_HEADER_BYTES) return "too-long";
      if (this.#ended) return this.#pending.length === 0 ? "ended" : "unterminated";

      this.#socket.resume();
      const timedOut = await new Promise<boolean>((resolve) => {
        // Absolute, unlike the socket's idle timeout, so a client trickling
        // one byte at a time cannot hold a connection slot forever.
        const timer = deadline === undefined ? undefined : setTimeout(() => resolve(true), Math.max(0, deadline - Date.now()));
        this.#wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      this.#wake = undefined;
      if (timedOut) {
        this.#socket.destroy();
        return "closed";
      }
    }
  }

  /** Drops all further input, still reading it so our close never turns into a reset. */
  discard(): void {
    this.#discarding = true;
    this.#pending = Buffer.alloc(0);
    this.#socket.resume();
  }
}

/** Writes a chunk, waiting for the socket to drain when its buffer is full. */
interface ChunkSlot {
  buffer: Buffer;
  /** Settles once the socket no longer needs the buffer's last contents. */
  released: Promise<void>;
}

const slotsBySocket = new WeakMap<net.Socket, ChunkSlot[]>();

/** The two send buffers of a connection, made on its first range and kept for the rest. */
function chunkBuffers(socket: net.Socket, bytes: number): ChunkSlot[] {
  let slots = slotsBySocket.get(socket);
  if (!slots || slots[0]!.buffer.length !== bytes) {
    slots = [0, 1].map(() => ({ buffer: Buffer.allocUnsafe(bytes), released: Promise.resolve() }));
    slotsBySocket.set(socket, slots);
  }
  return slots;
}

/**
 * Writes a chunk: `drained` honours backpressure, `released` settles once the
 * socket is done with the bytes (written, or dropped with the socket).
 */
function send(socket: net.Socket, chunk: Buffer): { drained: Promise<void>; released: Promise<void> } {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  if (socket.destroyed) return { drained: Promise.reject(closedError()), released: Promise.resolve() };
  const flowing = socket.write(chunk, () => release());
  return { drained: flowing ? Promise.resolve() : drain(socket), released };
}

function write(socket: net.Socket, chunk: Buffer): Promise<void> {
  if (socket.destroyed) return Promise.reject(closedError());
  if (socket.write(chunk)) return Promise.resolve();
  return drain(socket);
}

/** Waits for the socket to take more, or fails if it closes first. */
function drain(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = (): void => {
      socket.off("close", onClose);
      resolve();
    };
    const onClose = (): void => {
      socket.off("drain", onDrain);
      reject(closedError());
    };
    socket.once("drain", onDrain);
    socket.once("close", onClose);
  });
}

const closedError = (): Error => Object.assign(new Error("the client went away"), { code: "ECONNRESET" });

/** Sends a final header and closes our side, still draining the client's input so it can read the answer. */
function reply(socket: net.Socket, header: TransferHeader): void {
  if (socket.destroyed) return;
  socket.end(encodeLine(header));
  socket.resume();
}

function remote(socket: net.Socket): string {
  return `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
}
