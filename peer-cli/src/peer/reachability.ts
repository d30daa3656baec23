/**
 * What the tracker last found when it connected back to this peer's
 * mini-server, and what to tell the user about it: said once in the log of
 * `p2p-peer start` whenever it changes, and again by `status`.
 */
import { formatAddress, type ReachabilityReport } from "@p2p/shared";
import type { ReachabilityState } from "../control/protocol.ts";

export class Reachability {
  readonly #miniServerPort: number;
  readonly #log: (line: string) => void;
  #state: ReachabilityState | null = null;

  constructor(miniServerPort: number, log: (line: string) => void) {
    this.#miniServerPort = miniServerPort;
    this.#log = log;
  }

  get state(): ReachabilityState | null {
    return this.#state;
  }

  /** A report from the tracker: kept, and logged when it says something new. */
  update(report: ReachabilityReport): void {
    const before = this.#state?.report;
    this.#state = { report, at: new Date().toISOString() };
    if (before?.reachable !== report.reachable || before.host !== report.host || before.port !== report.port) {
      this.#log(describeReachability(report, this.#miniServerPort));
    }
  }
}

/** One paragraph for a person: what the tracker found and, when others cannot connect, what to do. */
export function describeReachability(report: ReachabilityReport, miniServerPort: number): string {
  const at = formatAddress(report.host, report.port);
  const unprobed = report.advertised
    ? ` The address other peers are given, ${report.advertised}, was not checked: the tracker only connects to the address it sees you at.`
    : "";
  if (report.reachable === true) return `reachable: the tracker connected to this peer's mini-server at ${at}, so other peers can download from it.${unprobed}`;
  if (report.reachable === null) return `reachability not known: ${report.reason}.${unprobed}`;
  const forward = report.port === miniServerPort ? `TCP port ${report.port}` : `TCP port ${report.port} to port ${miniServerPort}`;
  return (
    `NOT reachable: the tracker could not connect to this peer's mini-server at ${at} (${report.reason}). ` +
    `Other peers cannot download from you; you can still download from them. ` +
    `To fix it: forward ${forward} on your router to this machine, or start with --port-map to ask the router for it (UPnP or NAT-PMP); ` +
    `allow TCP ${miniServerPort} in this machine's firewall; start with a fixed --port so the forward stays valid. ` +
    `See README, "Run it for real", Ports, addresses and NAT.${unprobed}`
  );
}
