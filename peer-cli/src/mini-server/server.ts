/**
 * The mini-server: hands registered files to other peers over TCP, using the
 * protocol in @p2p/shared's transfer.ts. This file listens, accepts up to
 * maxConnections clients, hands each to its request loop, and closes.
 */
import net from "node:net";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { ClientSocket } from "./client-socket.ts";
import { PieceMaps } from "./piece-maps.ts";
import { serveConnection, type ServeContext } from "./serve-connection.ts";

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

export async function startMiniServer(options: MiniServerOptions): Promise<MiniServer> {
  const maxConnections = options.maxConnections ?? 64;
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const log = options.log ?? (() => {});
  const context: ServeContext = {
    files: options.files,
    pieceMaps: options.pieceMaps ?? new PieceMaps(),
    headerTimeoutMs: options.headerTimeoutMs ?? 10_000,
    body: {
      ...(options.throttleBytesPerSecond ? { bytesPerSecond: options.throttleBytesPerSecond } : {}),
      ...(options.corruptRanges ? { corruptRanges: true } : {}),
    },
    transfers: { active: 0 },
  };

  const sockets = new Set<net.Socket>();
  let served = 0;

  // Half-open allowed so a client that shuts down its sending side after its
  // requests still receives the answers; our idle timeout bounds the lifetime.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const client = new ClientSocket(socket, idleTimeoutMs, log);

    if (served >= maxConnections) {
      client.reply({ status: "busy", message: `the peer is serving ${maxConnections} connections; try again later` });
      return;
    }
    served++;
    socket.on("close", () => served--);

    serveConnection(client, context).catch((error: unknown) => {
      client.log(`${client.remote}: ${errnoCode(error)}`);
      client.destroy();
    });
  });

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
    activeTransfers: () => context.transfers.active,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

