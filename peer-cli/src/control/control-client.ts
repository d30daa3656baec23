/** A one-shot command's end of the control socket. */
import { createConnection } from "node:net";
import { sanitizeProse } from "@p2p/shared";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { readLines, writeLine } from "./json-lines.ts";
import { parseControlReply, readOutcome, type ControlCommand, type ControlEvent, type OutcomeMap } from "./protocol.ts";

/** Where a peer listens for commands: its home folder (for messages) and the socket in it. */
export interface ControlAddress {
  dir: string;
  controlSocket: string;
}

export async function sendCommand<C extends ControlCommand>(
  home: ControlAddress,
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
    const fail = (error: PeerError) => finish(() => reject(error));
    socket.once("connect", () => writeLine(socket, { id: 1, ...command }));
    socket.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") {
        fail(new PeerError("no-peer", `no peer is running for home ${home.dir}\nstart one with: p2p-peer start --home ${home.dir}`, EXIT.noPeer));
      } else fail(new PeerError("control-failed", `cannot talk to the peer: ${error.message}`, EXIT.noPeer));
    });
    socket.once("close", () => fail(peerGone(command)));
    readLines(
      socket,
      (line) => {
        // Anything thrown here would escape the socket's listener: every failure becomes a rejection.
        try {
          const reply = parseControlReply(line);
          if ("event" in reply) onEvent?.(reply);
          else if (reply.ok) {
            const outcome = readOutcome<C["cmd"]>(command.cmd, reply.result);
            finish(() => resolve(outcome));
          } else fail(new PeerError(reply.error.code, reply.error.message, reply.error.exitCode));
        } catch (error) {
          fail(new PeerError("bad-reply", `the peer sent a malformed reply: ${sanitizeProse(errorMessage(error))}`, EXIT.failed));
        }
      },
      () => fail(new PeerError("bad-reply", "the peer sent an oversized reply", EXIT.failed)),
    );
  });
}

/** The peer went away before answering: for a download that means the download failed. */
function peerGone(command: ControlCommand): PeerError {
  if (command.cmd === "download") {
    return new PeerError(
      "peer-gone",
      `the peer stopped during the download; nothing was saved as ${command.save}; what was verified is kept: start the peer and run the same download again to resume`,
      EXIT.downloadFailed,
    );
  }
  return new PeerError("peer-gone", "the peer closed the connection before answering", EXIT.failed);
}
