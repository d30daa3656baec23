/**
 * Whether other peers can reach a peer's mini-server, as the tracker found
 * out by connecting to it (a probe, see transfer.ts). The tracker pushes the
 * result to the peer on its socket, unasked, as the one message without an
 * `id`; list-users carries it for every user as `reachable`.
 */
import { parseJsonObject } from "./json.ts";
import { printable } from "./printable.ts";
import { checkHost, checkPort, expectObject, ProtocolFailure } from "./validate.ts";

/** true: the probe got this peer's answer; false: it could not reach it; null: not checked, or no telling. */
export type Reachable = boolean | null;

export interface ReachabilityReport {
  type: "reachability";
  reachable: Reachable;
  /** Where the tracker connected: the address it saw this peer come from, with the port from hello. */
  host: string;
  port: number;
  /** The host other peers are given, when the peer advertised one other than `host`: not probed. */
  advertised?: string;
  /** What happened, in words: "answered", "connection refused", "no answer within 3 s"… */
  reason: string;
}

/** Every push starts like this (the tracker writes `type` first); replies start with `{"id":`. */
const PUSH_PREFIX = '{"type":"reachability"';

export function isReachabilityPush(text: string): boolean {
  return text.startsWith(PUSH_PREFIX);
}

const MAX_REASON_LENGTH = 300;
/** Far above any real report: a host is at most 253 characters, the reason 300. */
const MAX_REPORT_LENGTH = 4096;

/** Reads a pushed report, checked like any message from the tracker. */
export function parseReachabilityReport(text: string): ReachabilityReport {
  if (text.length > MAX_REPORT_LENGTH) throw new ProtocolFailure("too-large", "the reachability report is too large");
  return readReachabilityReport(parseJsonObject(text, "the reachability report"));
}

/** Checks a report already parsed from JSON (as the peer's control socket passes it on). */
export function readReachabilityReport(value: unknown): ReachabilityReport {
  const obj = expectObject(value, "a reachability report");
  if (obj.type !== "reachability") throw new ProtocolFailure("bad-message", "not a reachability report");
  const reachable = readReachable(obj.reachable);
  if (typeof obj.reason !== "string") throw new ProtocolFailure("bad-message", '"reason" must be a string');
  const report: ReachabilityReport = {
    type: "reachability",
    reachable,
    host: checkHost(obj.host),
    port: checkPort(obj.port),
    // The tracker's words, shown to this peer's user: bounded and terminal-safe.
    reason: printable(obj.reason.slice(0, MAX_REASON_LENGTH)),
  };
  if (obj.advertised !== undefined) report.advertised = checkHost(obj.advertised);
  return report;
}

/** `reachable` as a listing or a report carries it; absent (a tracker from before probes) is null. */
export function readReachable(value: unknown): Reachable {
  if (value === undefined || value === null) return null;
  if (typeof value === "boolean") return value;
  throw new ProtocolFailure("bad-message", '"reachable" must be true, false or null');
}
