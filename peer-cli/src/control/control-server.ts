/** The running peer's end of the control socket. */
import { chmod, rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { ProtocolFailure } from "@p2p/shared";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { readLines, writeLine } from "./json-lines.ts";
import { parseControlRequest, type ControlEvent, type ControlFailure, type ControlRequest } from "./protocol.ts";

export type ControlHandler = (
  request: ControlRequest,
  emit: (event: ControlEvent) => void,
  /** Aborted when the command's caller goes away (Ctrl-C on a download) or the peer stops. */
  signal: AbortSignal,
) => Promise<unknown>;

export interface ControlServer {
  /** Stops listening and drops every connected command at once: a peer never waits for its callers to stop. */
  close(): Promise<void>;
}

export async function startControlServer(socketPath: string, handle: ControlHandler): Promise<ControlServer> {
  await clearStaleSocket(socketPath);
  const clients = new Set<Socket>();
  const server: Server = createServer((socket) => {
    clients.add(socket);
    const gone = new AbortController();
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clients.delete(socket);
      gone.abort();
    });
    readLines(
      socket,
      (line) => {
        let request: ControlRequest;
        try {
          request = parseControlRequest(line);
        } catch (error) {
          const code = error instanceof ProtocolFailure ? error.code : "bad-message";
          writeLine(socket, { id: -1, ok: false, error: { code, message: errorMessage(error), exitCode: EXIT.usage } });
          return;
        }
        const emit = (event: ControlEvent) => writeLine(socket, { id: request.id, ...event });
        handle(request, emit, gone.signal).then(
          (result) => writeLine(socket, { id: request.id, ok: true, result }),
          (error: unknown) => writeLine(socket, { id: request.id, ok: false, error: failureOf(error) }),
        );
      },
      () => socket.destroy(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  await chmod(socketPath, 0o600);
  let closing: Promise<void> | undefined;
  return {
    close() {
      closing ??= (async () => {
        // The socket file goes first, so a new peer on this home never finds a dying one.
        await rm(socketPath, { force: true });
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const socket of clients) socket.destroy();
        await closed;
      })();
      return closing;
    },
  };
}

function failureOf(error: unknown): ControlFailure {
  if (error instanceof PeerError) return { code: error.code, message: error.message, exitCode: error.exitCode };
  return { code: "internal", message: errorMessage(error), exitCode: EXIT.failed };
}

/** A socket file left by a peer that died is removed; a live peer's is not. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(socketPath);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (alive) {
    throw new PeerError("already-running", `a peer is already running with this home (${socketPath}); use another --home`, EXIT.failed);
  }
  await rm(socketPath, { force: true });
}
