/** How a command reaches the peer: its control socket, or directly from the peer's own prompt. */
import { sendCommand } from "../control/control-client.ts";
import { readOutcome, type ControlCommand, type ControlEvent, type OutcomeMap } from "../control/protocol.ts";
import type { Home } from "../peer/home.ts";
import type { Peer } from "../peer/peer.ts";

export type Transport = <C extends ControlCommand>(command: C, onEvent?: (event: ControlEvent) => void) => Promise<OutcomeMap[C["cmd"]]>;

export const socketTransport =
  (home: Home): Transport =>
  (command, onEvent) =>
    sendCommand(home, command, onEvent);

/** The prompt's commands go straight to the peer, their results checked exactly as the socket's are. */
export const inProcessTransport =
  (peer: Peer): Transport =>
  async (command, onEvent) =>
    readOutcome<(typeof command)["cmd"]>(command.cmd, await peer.handle({ id: 0, ...command }, onEvent ?? (() => {})));
