/**
 * The mini-server: hands registered files to other peers over TCP, using the
 * protocol in @p2p/shared's transfer.ts. This file listens, accepts the
 * clients admission lets in, hands each to its request loop, and closes.
 */
import net from "node:net";
import { formatAddress } from "@p2p/shared";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { Admission, addressKey } from "./admission.ts";
import { ClientSocket } from "./client-socket.ts";
import { PieceMaps } from "./piece-maps.ts";
import { serveConnection, type ServeContext } from "./serve-connection.ts";

export interface MiniServerOptions {
  files: { get(path: string): OfferedFile | undefined };
  /** 0 = any free port. */
  port?: number;
  /** Bind address; by default every address, IPv6 and IPv4 (IPv4 alone where the system has no IPv6). */
  host?: string;
  /**
   * Concurrent connections served. When all are taken, a newcomer takes the
   * slot of a connection that makes no progress (see below); with none, it is
   * answered "busy". Default 64.
   */
  maxConnections?: number;
  /** Connections one client address (an IPv4 address, an IPv6 /64) may hold; likewise. Default 8. */
  maxConnectionsPerAddress?: number;
  /** No progress: nothing asked and nothing being answered for longer than this. Default 2 s. */
  idleGraceMs?: number;
  /** No progress: an answer the client has taken nothing of for longer than this. Default 15 s. */
  stallGraceMs?: number;
  /** No progress: open longer than this and took under 64 KiB over the last this long. Default 20 s. */
  progressWindowMs?: number;
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
  /** The address listened on, as `host:port` (`[::]:40123` for every address). */
  address: string;
  close(): Promise<void>;
  activeTransfers(): number;
}

export async function startMiniServer(options: MiniServerOptions): Promise<MiniServer> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000;
  const log = options.log ?? (() => {});
  const progress = {
    idleGraceMs: options.idleGraceMs ?? 2_000,
    stallGraceMs: options.stallGraceMs ?? 15_000,
    windowMs: options.progressWindowMs ?? 20_000,
    minWindowBytes: 64 * 1024,
  };
  const admission = new Admission<ClientSocket>({
    maxConnections: options.maxConnections ?? 64,
    maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? 8,
  });
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

  // Half-open allowed so a client that shuts down its sending side after its
  // requests still receives the answers; our idle timeout bounds the lifetime.
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const client = new ClientSocket(socket, { idleTimeoutMs, progress, log });

    const admitted = admission.admit(client, addressKey(socket.remoteAddress));
    if (!admitted.admitted) {
      client.reply({ status: "busy", message: admitted.message });
      return;
    }
    socket.on("close", () => admission.leave(client));
    const { evicted } = admitted;
    if (evicted !== undefined) {
      const why = { idle: "idle between requests", stalled: "not reading its answer", trickling: "taking almost nothing" }[evicted.reason];
      evicted.connection.log(`closed ${evicted.connection.remote} (${why}) to make room for ${client.remote}`);
      evicted.connection.destroy();
    }

    serveConnection(client, context)
      .catch((error: unknown) => {
        client.log(`${client.remote}: ${errnoCode(error)}`);
        client.destroy();
      })
      // Done with its requests, it needs no slot, even while the client takes its time to close.
      .finally(() => admission.leave(client));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // Without a host Node listens on "::" dual-stack: a peer the tracker
    // sees over IPv6 is advertised by its IPv6 address and must answer there.
    server.listen({ port: options.port ?? 0, ...(options.host !== undefined ? { host: options.host } : {}) }, () => {
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
    address: formatAddress(address.address, address.port),
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

