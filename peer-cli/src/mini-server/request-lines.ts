/**
 * Reads a client's request lines one at a time, for the mini-server's request
 * loop. Pipelined requests wait their turn; memory stays bounded however the
 * client sends (one byte at a time, or far too much).
 */
import type net from "node:net";
import { MAX_TRANSFER_HEADER_BYTES } from "@p2p/shared";

export type NextRequest = { line: string } | "ended" | "too-long" | "unterminated" | "closed";

/**
 * The client's request lines, one at a time. Bytes after a newline (the next
 * pipelined request) are kept for the next call; reading pauses while a whole
 * line or MAX_TRANSFER_HEADER_BYTES are waiting, so memory stays bounded.
 */
export class RequestLines {
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
