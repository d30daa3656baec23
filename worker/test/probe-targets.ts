/**
 * Vitest global setup for the worker project, run in Node: TCP servers on
 * 127.0.0.1 for the tracker's reachability probes to connect to, and a small
 * HTTP server that tells the tests (inside workerd) what each one saw.
 *   answering: answers a probe as a mini-server does (its nonce back);
 *   impostor:  another service on the port: a banner line, not the nonce;
 *   silent:    accepts and never answers, to hold a probe until its timeout;
 *   closed:    a port nothing listens on.
 */
import { createServer as createHttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import type { TestProject } from "vitest/node";
import type { ProbeTargets } from "./probe-targets-context.ts";

interface Counts {
  connections: number;
  open: number;
  maxOpen: number;
}

function target(answer: (line: string, socket: Socket) => void): { server: Server; counts: Counts; sockets: Set<Socket> } {
  const counts: Counts = { connections: 0, open: 0, maxOpen: 0 };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    counts.connections++;
    // Counted as open once events already in are handled: a FIN from a probe the tracker closed
    // before opening this one may arrive in the same turn of the event loop and be handled after.
    let open = false;
    let gone = false;
    setImmediate(() => {
      if (gone) return;
      open = true;
      counts.open++;
      counts.maxOpen = Math.max(counts.maxOpen, counts.open);
    });
    // Open until the tracker's side closes: its FIN ("end") may come a moment before "close".
    const closed = () => {
      if (open) counts.open--;
      open = false;
      gone = true;
    };
    socket.on("end", closed);
    socket.on("close", closed);
    socket.on("error", closed);
    let text = "";
    socket.on("data", (chunk) => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end >= 0) answer(text.slice(0, end), socket);
    });
  });
  return { server, counts, sockets };
}

const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const answering = target((line, socket) => {
    const { nonce } = JSON.parse(line) as { nonce: string };
    socket.end(`${JSON.stringify({ status: "ok", probe: nonce })}\n`);
  });
  const impostor = target((_line, socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n"));
  const silent = target(() => {});
  const closedServer = createServer();
  const closed = await listen(closedServer);
  await new Promise((resolve) => closedServer.close(resolve));

  const all = { answering, impostor, silent };
  const stats = createHttpServer((_req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(Object.fromEntries(Object.entries(all).map(([name, t]) => [name, t.counts]))));
  });
  const targets: ProbeTargets = {
    answering: await listen(answering.server),
    impostor: await listen(impostor.server),
    silent: await listen(silent.server),
    closed,
    stats: await listen(stats as unknown as Server),
  };
  project.provide("probeTargets", targets);
  return async () => {
    for (const { server, sockets } of Object.values(all)) {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
    stats.closeAllConnections();
    await new Promise((resolve) => stats.close(resolve));
  };
}
