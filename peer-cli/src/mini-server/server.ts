/**
 * The mini-server: hands registered files to other peers, one file per TCP
 * connection, using the protocol in @p2p/shared's transfer.ts.
 */
import { open, type FileHandle } from "node:fs/promises";
import net from "node:net";
import { pipeline } from "node:stream/promises";
import {
  encodeLine,
  MAX_TRANSFER_HEADER_BYTES,
  parseTransferRequest,
  type TransferHeader,
} from "@p2p/shared";
import { errorMessage } from "../errors.ts";
import { errnoCode, OPEN_READ_FLAGS, sameFile } from "../files/fingerprint.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { throttle } from "./throttle.ts";

export interface MiniServerOptions {
  files: { get(path: string): OfferedFile | undefined };
  /** 0 = any free port. */
  port?: number;
  /** Bind address, default "0.0.0.0". */
  host?: string;
  /** Concurrent connections served; more are answered "busy". Default 64. */
  maxConnections?: number;
  /** A client must send its whole request line within this time. Default 10 s. */
  headerTimeoutMs?: number;
  /** A connection with no traffic either way for this long is dropped. Default 30 s. */
  idleTimeoutMs?: number;
  log?: (line: string) => void;
  /** Caps each upload's rate; for tests and benchmarks only. */
  throttleBytesPerSecond?: number;
}

export interface MiniServer {
  port: number;
  close(): Promise<void>;
  activeTransfers(): number;
}

export async function startMiniServer(options: MiniServerOptions): Promise<MiniServer> {
  const { files } = options;
  const maxConnections = options.maxConnections ?? 64;
  const headerTimeoutMs = options.headerTimeoutMs ?? 10_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const log = options.log ?? (() => {});

  const sockets = new Set<net.Socket>();
  let served = 0;
  let transfers = 0;

  // Half-open allowed so a client that shuts down its sending side after the
  // request still receives the file; our idle timeout bounds the lifetime.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // Clients vanish mid-transfer all the time; that is not our failure.
    socket.on("error", (error) => log(`mini-server: ${remote(socket)}: ${errnoCode(error)}`));
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());

    if (served >= maxConnections) {
      reply(socket, { status: "busy", message: `the peer is serving ${maxConnections} connections; try again later` });
      return;
    }
    served++;
    socket.on("close", () => served--);

    readRequestLine(socket, headerTimeoutMs)
      .then(async (line) => {
        if (line === undefined) return;
        await serve(socket, line);
      })
      .catch((error: unknown) => {
        log(`mini-server: ${remote(socket)}: ${errnoCode(error)}`);
        socket.destroy();
      });
  });

  async function serve(socket: net.Socket, line: string): Promise<void> {
    let path: string;
    try {
      path = parseTransferRequest(line).path;
    } catch (error) {
      reply(socket, { status: "bad-request", message: errorMessage(error) });
      return;
    }

    // Exact string match only: no normalisation, so "/a/../b" is never "/b".
    const offered = files.get(path);
    if (offered === undefined) {
      reply(socket, { status: "not-found", message: `${path} is not offered by this peer` });
      return;
    }

    const changed = (): void =>
      reply(socket, {
        status: "changed",
        message: `${path} changed on disk since it was registered; its owner must register it again`,
      });

    let handle: FileHandle;
    try {
      handle = await open(path, OPEN_READ_FLAGS);
    } catch (error) {
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR") changed();
      else reply(socket, { status: "error", message: `the peer cannot read ${path}: ${code}` });
      return;
    }

    let streaming = false;
    try {
      // Compare the handle we will read from, not the path: a file or symlink
      // swapped in after this check cannot change what gets sent.
      const stat = await handle.stat();
      if (!stat.isFile() || !sameFile(offered, stat)) {
        changed();
        return;
      }
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
      const body = handle.createReadStream({ start: 0, end: offered.size - 1, highWaterMark: 256 * 1024 });
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

/**
 * Resolves with the request line (without its newline), or undefined after
 * having answered or dropped the connection itself.
 */
function readRequestLine(socket: net.Socket, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;

    // Absolute, unlike the socket's idle timeout, so a client trickling one
    // byte at a time cannot hold a connection slot forever.
    const timer = setTimeout(() => {
      done(undefined);
      socket.destroy();
    }, timeoutMs);

    const onData = (chunk: Buffer): void => {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= MAX_TRANSFER_HEADER_BYTES) {
          done(undefined);
          reply(socket, { status: "bad-request", message: `the request line is longer than ${MAX_TRANSFER_HEADER_BYTES} bytes` });
        }
        return;
      }
      if (length + newline + 1 > MAX_TRANSFER_HEADER_BYTES) {
        done(undefined);
        reply(socket, { status: "bad-request", message: `the request line is longer than ${MAX_TRANSFER_HEADER_BYTES} bytes` });
        return;
      }
      chunks.push(chunk.subarray(0, newline));
      done(Buffer.concat(chunks).toString("utf8"));
    };
    const onEnd = (): void => {
      done(undefined);
      reply(socket, { status: "bad-request", message: "the request ended without a newline" });
    };
    const onClose = (): void => done(undefined);

    function done(line: string | undefined): void {
      clearTimeout(timer);
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onClose);
      // Anything after the request line is not part of the protocol; keep
      // draining it so unread input never turns our close into a reset.
      socket.on("data", () => {});
      resolve(line);
    }

    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onClose);
  });
}

/** Sends a final header and closes our side, still draining the client's input so it can read the answer. */
function reply(socket: net.Socket, header: TransferHeader): void {
  if (socket.destroyed) return;
  socket.end(encodeLine(header));
  socket.resume();
}

function remote(socket: net.Socket): string {
  return `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
}
