/**
 * Writing to one client of the mini-server: header lines, final answers and
 * body chunks with backpressure, and the idle timeout that drops a client
 * gone quiet. Every answer writes through here, so none of them handles a
 * raw socket's buffering or closing on its own, and what the client takes is
 * counted in one place for admission to judge.
 */
import type net from "node:net";
import { encodeLine, formatAddress, type ProbeAnswer, type TransferHeader } from "@p2p/shared";
import { errnoCode } from "../files/errno.ts";
import { Progress, type ProgressRules } from "./progress.ts";

/** One of a connection's two send buffers. */
export interface ChunkSlot {
  buffer: Buffer;
  /** Settles once the socket no longer needs the buffer's last contents. */
  released: Promise<void>;
}

export class ClientSocket {
  readonly socket: net.Socket;
  /** address:port, for logs. */
  readonly remote: string;
  readonly progress: Progress;
  readonly #idleTimeoutMs: number;
  readonly #log: (line: string) => void;
  #slots: [ChunkSlot, ChunkSlot] | undefined;

  constructor(socket: net.Socket, options: { idleTimeoutMs: number; progress: ProgressRules; log: (line: string) => void }) {
    const { idleTimeoutMs, log } = options;
    this.socket = socket;
    this.remote = socket.remoteAddress === undefined ? "?" : formatAddress(socket.remoteAddress, socket.remotePort ?? 0);
    this.progress = new Progress(options.progress);
    this.#idleTimeoutMs = idleTimeoutMs;
    this.#log = log;
    // Clients vanish mid-transfer all the time; that is not our failure.
    socket.on("error", (error) => this.log(`${this.remote}: ${errnoCode(error)}`));
    socket.setTimeout(idleTimeoutMs);
    socket.on("timeout", () => socket.destroy());
  }

  get gone(): boolean {
    return this.socket.destroyed;
  }

  log(line: string): void {
    this.#log(`mini-server: ${line}`);
  }

  /** Runs work of our own (hashing a big file) during which the client rightly hears nothing. */
  async whileWorking<T>(work: () => Promise<T>): Promise<T> {
    this.socket.setTimeout(0);
    try {
      return await work();
    } finally {
      if (!this.gone) this.socket.setTimeout(this.#idleTimeoutMs);
    }
  }

  /** The header of an ok answer; its body follows. */
  header(header: object): void {
    this.socket.write(encodeLine(header));
  }

  /** A final header, then our side closes; the client's input is still drained so it can read the answer. */
  reply(header: TransferHeader | ProbeAnswer): void {
    if (this.gone) return;
    this.socket.end(encodeLine(header));
    this.socket.resume();
  }

  /** The two send buffers, made on the first body and kept for the rest of the connection. */
  chunkBuffers(bytes: number): [ChunkSlot, ChunkSlot] {
    if (this.#slots === undefined || this.#slots[0].buffer.length !== bytes) {
      const slot = (): ChunkSlot => ({ buffer: Buffer.allocUnsafe(bytes), released: Promise.resolve() });
      this.#slots = [slot(), slot()];
    }
    return this.#slots;
  }

  /**
   * Writes a chunk: `drained` honours backpressure, `released` settles once
   * the socket is done with the bytes (written, or dropped with the socket).
   */
  send(chunk: Buffer): { drained: Promise<void>; released: Promise<void> } {
    if (this.gone) return { drained: Promise.reject(closedError()), released: Promise.resolve() };
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const bytes = chunk.length;
    this.progress.wrote(bytes);
    const flowing = this.socket.write(chunk, (error) => {
      if (!error) this.progress.taken(bytes);
      release();
    });
    return { drained: flowing ? Promise.resolve() : this.#drain(), released };
  }

  /** Writes a chunk the caller will not reuse, waiting while the socket's buffer is full. */
  write(chunk: Buffer): Promise<void> {
    return this.send(chunk).drained;
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Waits for the socket to take more, or fails if it closes first. */
  #drain(): Promise<void> {
    const { socket } = this;
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
}

const closedError = (): Error => Object.assign(new Error("the client went away"), { code: "ECONNRESET" });
