/** Downloads one file from another peer's mini-server and proves it is the file announced. */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import net from "node:net";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  encodeLine,
  MAX_TRANSFER_HEADER_BYTES,
  parseTransferHeader,
  TRANSFER_PROTOCOL_VERSION,
  type TransferHeader,
  type TransferRequest,
} from "@p2p/shared";
import { errorMessage, EXIT, PeerError } from "../errors.ts";
import { errnoCode } from "../files/fingerprint.ts";

export interface FetchOptions {
  host: string;
  port: number;
  /** The absolute path exactly as the owner registered it. */
  path: string;
  /** Destination file; created or truncated. On failure the caller deletes it. */
  to: string;
  /** Called at most every ~100 ms while bytes arrive, and once when they all have. */
  onProgress?: (received: number, total: number) => void;
  /** No traffic for this long (while connecting, too) fails the download. Default 30 s. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** The owning user's name, only for error messages. */
  owner?: string;
}

export interface FetchResult {
  size: number;
  sha256: string;
}

const PROGRESS_INTERVAL_MS = 100;

type Phase = "connect" | "header" | "body";

const failure = (code: string, message: string): PeerError => new PeerError(code, message, EXIT.downloadFailed);

export async function fetchFromPeer(options: FetchOptions): Promise<FetchResult> {
  const { host, port, path, to, signal } = options;
  const where = `${options.owner === undefined ? "the peer's" : `${options.owner}'s`} mini-server at ${
    host.includes(":") ? `[${host}]` : host
  }:${port}`;
  const aborted = (): PeerError => failure("aborted", "the download was cancelled");
  if (signal?.aborted) throw aborted();

  let phase: Phase = "connect";
  const socket = net.connect({ host, port });
  const socketClosed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  // Errors reach us through the promise currently waiting on the socket (or
  // via socket.errored); this only keeps a late one from crashing the process.
  socket.on("error", () => {});
  socket.setTimeout(options.idleTimeoutMs ?? 30_000, () => {
    socket.destroy(
      phase === "connect"
        ? failure("unreachable", `cannot reach ${where}: timed out`)
        : failure("stalled", `${where} sent nothing for ${options.idleTimeoutMs ?? 30_000} ms`),
    );
  });
  const onAbort = (): void => {
    socket.destroy(aborted());
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    }).catch((error: unknown) => {
      throw error instanceof PeerError ? error : failure("unreachable", `cannot reach ${where}: ${errnoCode(error)}`);
    });

    phase = "header";
    const request: TransferRequest = { v: TRANSFER_PROTOCOL_VERSION, op: "get", path };
    socket.write(encodeLine(request));
    const header = await readHeader(socket);
    if (header.status !== "ok") throw failure(header.status, header.message);

    phase = "body";
    return await receiveBody(socket, header, options);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    socket.destroy();
    await socketClosed;
  }
}

/**
 * Reads the reply header line and leaves the socket paused with any bytes
 * after the newline pushed back, so the body starts exactly where it should.
 */
function readHeader(socket: net.Socket): Promise<TransferHeader> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const tooLong = (): PeerError =>
      failure("bad-reply", `the peer's reply header is longer than ${MAX_TRANSFER_HEADER_BYTES} bytes`);

    const onData = (chunk: Buffer): void => {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= MAX_TRANSFER_HEADER_BYTES) settle(tooLong());
        return;
      }
      if (length + newline + 1 > MAX_TRANSFER_HEADER_BYTES) {
        settle(tooLong());
        return;
      }
      chunks.push(chunk.subarray(0, newline));
      socket.pause();
      const rest = chunk.subarray(newline + 1);
      if (rest.length > 0) socket.unshift(rest);
      try {
        settle(undefined, parseTransferHeader(Buffer.concat(chunks).toString("utf8")));
      } catch (error) {
        settle(failure("bad-reply", errorMessage(error)));
      }
    };
    const onEnd = (): void => settle(failure("bad-reply", "the peer closed the connection without replying"));
    const onError = (error: Error): void =>
      settle(error instanceof PeerError ? error : failure("bad-reply", `the peer's connection failed before it replied: ${errnoCode(error)}`));
    const onClose = (): void => settle(failure("bad-reply", "the peer closed the connection without replying"));

    function settle(error: PeerError | undefined, header?: TransferHeader): void {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("error", onError);
      socket.off("close", onClose);
      if (header !== undefined) resolve(header);
      else reject(error);
    }

    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}

async function receiveBody(
  socket: net.Socket,
  header: { size: number; sha256: string },
  options: FetchOptions,
): Promise<FetchResult> {
  const { size } = header;
  const hash = createHash("sha256");
  let received = 0;
  let lastReport = Date.now();

  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > size) {
        callback(failure("bad-reply", `the peer sent more than the ${size} bytes it announced`));
        return;
      }
      hash.update(chunk);
      const now = Date.now();
      if (options.onProgress !== undefined && now - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = now;
        options.onProgress(received, size);
      }
      callback(null, chunk);
    },
  });

  const file = createWriteStream(options.to, { flags: "w" });
  const fileClosed = new Promise<void>((resolve) => file.once("close", () => resolve()));
  let fileError: unknown;
  file.once("error", (error) => {
    fileError = error;
  });

  try {
    await pipeline(socket, meter, file);
  } catch (error) {
    if (error instanceof PeerError) throw error;
    if (fileError !== undefined) throw failure("write-failed", `cannot write ${options.to}: ${errnoCode(fileError)}`);
    throw failure("truncated", `the peer closed the connection after ${received} of ${size} bytes (${errnoCode(error)})`);
  } finally {
    // The caller deletes `to` on failure; the descriptor must be gone first.
    file.destroy();
    await fileClosed;
  }

  if (received !== size) {
    throw failure("truncated", `the peer closed the connection after ${received} of ${size} bytes`);
  }
  options.onProgress?.(received, size);
  const sha256 = hash.digest("hex");
  if (sha256 !== header.sha256) {
    throw failure("corrupt", `SHA-256 mismatch: expected ${header.sha256}, got ${sha256}`);
  }
  return { size, sha256 };
}
