/** How a command reaches the peer: its control socket, or directly from the peer's own prompt. */
import { sendCommand } from "../control/control-client.ts";
import type { ControlCommand, OutcomeMap } from "../control/protocol.ts";
import type { Home } from "../peer/home.ts";
import type { Peer } from "../peer/peer.ts";

export type Transport = <C extends ControlCommand>(
  command: C,
  onProgress?: (received: number, total: number) => void,
) => Promise<OutcomeMap[C["cmd"]]>;

export const socketTransport =
  (home: Home): Transport =>
  (command, onProgress) =>
    sendCommand(home, command, onProgress);

export const inProcessTransport =
  (peer: Peer): Transport =>
  (command, onProgress) =>
    peer.handle({ id: 0, ...command }, onProgress ?? (() => {})) as never;
