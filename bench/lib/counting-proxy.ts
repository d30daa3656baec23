/**
 * A TCP proxy in front of the tracker that counts the bytes it relays each
 * way, WebSocket framing included: what a peer's connection really costs.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface CountingProxy {
  /** The WebSocket URL to give a client instead of the tracker's. */
  url: string;
  /** Bytes relayed since the last reset: tracker → client, and client → tracker. */
  toClient: number;
  toTracker: number;
  reset(): void;
  close(): Promise<void>;
}

export async function startCountingProxy(trackerPort: number): Promise<CountingProxy> {
  const sockets = new Set<Socket>();
  const proxy = {
    url: "",
    toClient: 0,
    toTracker: 0,
    reset() {
      proxy.toClient = 0;
      proxy.toTracker = 0;
    },
    close: () => closeServer(server, sockets),
  };
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: "127.0.0.1", port: trackerPort });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.on("data", (chunk: Buffer) => (proxy.toTracker += chunk.length));
    upstream.on("data", (chunk: Buffer) => (proxy.toClient += chunk.length));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  proxy.url = `ws://127.0.0.1:${typeof address === "object" && address ? address.port : 0}/ws`;
  return proxy;
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}
