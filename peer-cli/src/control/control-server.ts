/** The running peer's end of the control socket. */
import { chmod, rm } from "node:fs/promises";
import { createConnection, createServer, type Server } from "node:net";
import { ProtocolFailure } from "@p2p/shared";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { readLines, writeLine } from "./json-lines.ts";
import { parseControlRequest, type ControlEvent, type ControlRequest } from "./protocol.ts";

export type ControlHandler = (
  request: ControlRequest,
  emit: (event: ControlEvent) => void,
  /** Aborted when the command's caller goes away (Ctrl-C on a download). */
  signal: AbortSignal,
) => Promise<unknown>;

export async function startControlServer(socketPath: string, handle: ControlHandler): Promise<{ close(): Promise<void> }> {
  await clearStaleSocket(socketPath);
  const server: Server = createServer((socket) => {
    const gone = new AbortController();
    socket.on("error", () => socket.destroy());
    socket.on("close", () => gone.abort());
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
          (error: unknown) => {
            const failure =
              error instanceof PeerError
                ? { code: error.code, message: error.message, exitCode: error.exitCode }
                : { code: "internal", message: errorMessage(error), exitCode: EXIT.failed };
            writeLine(socket, { id: request.id, ok: false, error: failure });
          },
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
  return {
    // The socket file goes first, so a new peer on this home never finds a dying one.
    async close() {
      await rm(socketPath, { force: true });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
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
