/**
 * A mini-server impostor for attacks: it speaks the transfer protocol but
 * answers with whatever piece map and bytes the test gives it, and counts
 * what it was asked. Honest behaviour is one choice of answers among others.
 */
import net from "node:net";
import { encodeLine, parseTransferRequest, pieceCountFor, pieceSizeFor } from "@p2p/shared";

export interface FakeSourceAnswers {
  size: number;
  /** The root it claims in its headers (downloaders must not believe it). */
  claimedRoot: string;
  /** The piece map it sends: count × 32 bytes. */
  leaves: Buffer;
  /** The bytes it sends for a range. */
  bytes(offset: number, length: number): Buffer;
  /** Sends range bodies one byte every this many ms (a slowloris), instead of at once. */
  trickleMs?: number;
}

export interface FakeSource {
  port: number;
  /** Range requests answered so far. */
  readonly ranges: number;
  close(): Promise<void>;
}

export async function startFakeSource(answers: FakeSourceAnswers, host = "127.0.0.1"): Promise<FakeSource> {
  let ranges = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending = "";
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n")) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const request = parseTransferRequest(line);
        const pieceSize = pieceSizeFor(answers.size);
        if (request.op === "pieces") {
          const header = { status: "ok", size: answers.size, root: answers.claimedRoot, pieceSize, count: pieceCountFor(answers.size, pieceSize) };
          socket.write(Buffer.concat([Buffer.from(encodeLine(header)), answers.leaves]));
        } else if (request.op === "range") {
          ranges++;
          const header = { status: "ok", size: answers.size, root: answers.claimedRoot, offset: request.offset, length: request.length };
          const body = answers.bytes(request.offset, request.length);
          if (answers.trickleMs === undefined) socket.write(Buffer.concat([Buffer.from(encodeLine(header)), body]));
          else {
            socket.write(encodeLine(header));
            let sent = 0;
            const timer = setInterval(() => {
              if (socket.destroyed || sent >= body.length) return clearInterval(timer);
              socket.write(body.subarray(sent, ++sent));
            }, answers.trickleMs);
            socket.once("close", () => clearInterval(timer));
          }
        } else socket.end(encodeLine({ status: "bad-request", message: "ranges only" }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : 0,
    get ranges() {
      return ranges;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
