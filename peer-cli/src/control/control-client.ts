/** A one-shot command's end of the control socket. */
import { createConnection } from "node:net";
import { EXIT, PeerError } from "../errors.ts";
import type { Home } from "../peer/home.ts";
import { readLines, writeLine } from "./json-lines.ts";
import { parseControlReply, type ControlCommand, type ControlEvent, type OutcomeMap } from "./protocol.ts";

export async function sendCommand<C extends ControlCommand>(
  home: Home,
  command: C,
  onEvent?: (event: ControlEvent) => void,
): Promise<OutcomeMap[C["cmd"]]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(home.controlSocket);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      fn();
    };
    socket.once("connect", () => writeLine(socket, { id: 1, ...command }));
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
        finish(() =>
          reject(
            new PeerError(
              "no-peer",
              `no peer is running for home ${home.dir}\nstart one with: p2p-peer start --home ${home.dir}`,
              EXIT.noPeer,
            ),
          ),
        );
      } else finish(() => reject(new PeerError("control-failed", `cannot talk to the peer: ${error.message}`, EXIT.noPeer)));
    });
    socket.once("close", () => finish(() => reject(new PeerError("peer-gone", "the peer closed the connection before answering", EXIT.failed))));
    readLines(
      socket,
      (line) => {
        const reply = parseControlReply(line);
        if ("event" in reply) onEvent?.(reply);
        else if (reply.ok) finish(() => resolve(reply.result as OutcomeMap[C["cmd"]]));
        else finish(() => reject(new PeerError(reply.error.code, reply.error.message, reply.error.exitCode as never)));
      },
      () => finish(() => reject(new PeerError("bad-reply", "the peer sent an oversized reply", EXIT.failed))),
    );
  });
}
