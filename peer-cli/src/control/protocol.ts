/**
 * Commands from a one-shot `p2p-peer …` to the running peer over its control
 * socket: one JSON line each way, plus progress events for downloads. Both
 * ends check what they read: the socket is private, but still a process boundary.
 */
import {
  checkDigest,
  checkFileEntry,
  checkHost,
  checkPath,
  checkPort,
  checkQuery,
  checkUserName,
  expectArray,
  expectInteger,
  expectObject,
  expectString,
  isObject,
  parseJsonObject,
  ProtocolFailure,
  readReachabilityReport,
  type ReachabilityReport,
  readResult,
  type FileEntry,
  type FileListing,
  type JsonObject,
  type ListedUser,
} from "@p2p/shared";
import type { SourceReport } from "../download/swarm.ts";
import { isExitCode, isPeerErrorCode, type ExitCode, type PeerErrorCode } from "../errors.ts";

export type ControlCommand =
  | { cmd: "register"; user: string; paths: string[] }
  | { cmd: "unregister"; user: string; paths: string[] }
  | { cmd: "list-files"; user?: string; match?: string; root?: string }
  | { cmd: "users" }
  | { cmd: "status" }
  | { cmd: "download"; user: string; path: string; save: string; force: boolean; singleSource: boolean };

export type CommandName = ControlCommand["cmd"];

export type ControlRequest = ControlCommand & { id: number };

export interface RegisterOutcome {
  user: string;
  files: FileEntry[];
  added: number;
  updated: number;
  total: number;
}

export interface UnregisterOutcome {
  user: string;
  removed: string[];
}

export interface UsersOutcome {
  users: ListedUser[];
  refreshedAt: string | null;
  file: string;
}

/** What the tracker last found when it connected back to this peer, and when it said so. */
export interface ReachabilityState {
  report: ReachabilityReport;
  /** When the report came (ISO 8601). */
  at: string;
}

export interface StatusOutcome {
  user: string | null;
  home: string;
  tracker: string;
  trackerConnected: boolean;
  miniServerPort: number;
  offered: number;
  /** What the tracker found when it connected back; null until it has said. */
  reachability: ReachabilityState | null;
  /** With --port-map: what the router forwards, or why it would not; null without. */
  portMapping: PortMapState | null;
}

export type PortMapState =
  | { protocol: "UPnP" | "NAT-PMP"; gateway: string; externalHost: string; externalPort: number; leaseSeconds: number }
  | { error: string };

export interface DownloadOutcome {
  user: string;
  path: string;
  saved: string;
  size: number;
  /** The content root the saved file was proved against. */
  root: string;
  seconds: number;
  /** Bytes fetched in this run (a resumed download fetches only what was missing). */
  transferred: number;
  /** Bytes found verified in `<save>.part` from an earlier, interrupted run. */
  resumed: number;
  /** Pieces asked for again after a source failed or lied. */
  refetched: number;
  sources: SourceReport[];
  /** The name the saved file was registered under, or null if this peer has none yet. */
  registeredAs: string | null;
  /** Why registering the saved file failed, when it did; the file is saved all the same. */
  registerError?: string;
}

export interface OutcomeMap {
  register: RegisterOutcome;
  unregister: UnregisterOutcome;
  "list-files": { files: FileListing[] };
  users: UsersOutcome;
  status: StatusOutcome;
  download: DownloadOutcome;
}

export interface ControlFailure {
  code: PeerErrorCode;
  message: string;
  exitCode: ExitCode;
}

/** What a running command reports before its result: download progress and dropped sources. */
export type ControlEvent =
  | { event: "progress"; received: number; total: number; sources: number }
  | { event: "dropped"; user: string; reason: string };

export type ControlReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: ControlFailure }
  | ({ id: number } & ControlEvent);

const pathList = (obj: JsonObject): string[] => expectArray(obj, "paths").map(checkPath);

export function parseControlRequest(line: string): ControlRequest {
  const obj = parseJsonObject(line, "the command");
  const id = obj.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) throw new ProtocolFailure("bad-message", '"id" must be an integer');
  switch (obj.cmd) {
    case "register":
    case "unregister":
      return { id, cmd: obj.cmd, user: checkUserName(obj.user), paths: pathList(obj) };
    case "list-files":
      return {
        id,
        cmd: obj.cmd,
        ...(obj.user === undefined ? {} : { user: checkUserName(obj.user) }),
        ...(obj.match === undefined ? {} : { match: checkQuery(obj.match) }),
        ...(obj.root === undefined ? {} : { root: checkDigest(obj.root) }),
      };
    case "users":
    case "status":
      return { id, cmd: obj.cmd };
    case "download":
      return {
        id,
        cmd: "download",
        user: checkUserName(obj.user),
        path: checkPath(obj.path),
        save: checkPath(expectString(obj, "save")),
        force: obj.force === true,
        singleSource: obj.singleSource === true,
      };
    default:
      throw new ProtocolFailure("unknown-type", `unknown command ${JSON.stringify(obj.cmd)}`);
  }
}

export function parseControlReply(line: string): ControlReply {
  const obj = parseJsonObject(line, "the peer's reply");
  const id = obj.id;
  if (typeof id !== "number") throw new ProtocolFailure("bad-message", "the peer's reply has no id");
  if (obj.event === "progress") return { id, event: "progress", received: count(obj, "received"), total: count(obj, "total"), sources: count(obj, "sources") };
  if (obj.event === "dropped") return { id, event: "dropped", user: expectString(obj, "user"), reason: expectString(obj, "reason") };
  if (obj.ok === true) return { id, ok: true, result: obj.result };
  if (obj.ok === false && isObject(obj.error)) {
    const { code, message, exitCode } = obj.error;
    if (isPeerErrorCode(code) && typeof message === "string" && isExitCode(exitCode)) return { id, ok: false, error: { code, message, exitCode } };
  }
  throw new ProtocolFailure("bad-message", "the peer's reply is neither a result, an error nor an event");
}

const count = (obj: JsonObject, key: string): number => expectInteger(obj, key, 0, Number.MAX_SAFE_INTEGER);
const seconds = (obj: JsonObject, key: string): number => {
  const value = obj[key];
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) throw new ProtocolFailure("bad-message", `"${key}" must be a non-negative number`);
  return value;
};
const optionalString = (obj: JsonObject, key: string): string | undefined => (obj[key] === undefined ? undefined : expectString(obj, key));
const nullable = <T>(value: unknown, read: (value: unknown) => T): T | null => (value === null ? null : read(value));

function readSourceReport(value: unknown): SourceReport {
  const obj = expectObject(value, "a source report");
  const dropped = optionalString(obj, "dropped");
  return { user: checkUserName(obj.user), pieces: count(obj, "pieces"), bytes: count(obj, "bytes"), ...(dropped === undefined ? {} : { dropped }) };
}

function readPortMapState(value: unknown): PortMapState {
  const obj = expectObject(value, "a port mapping");
  if (obj.error !== undefined) return { error: expectString(obj, "error") };
  if (obj.protocol !== "UPnP" && obj.protocol !== "NAT-PMP") throw new ProtocolFailure("bad-message", '"protocol" must be UPnP or NAT-PMP');
  return {
    protocol: obj.protocol,
    gateway: checkHost(obj.gateway),
    externalHost: checkHost(obj.externalHost),
    externalPort: checkPort(obj.externalPort),
    leaseSeconds: count(obj, "leaseSeconds"),
  };
}

/** Each command's result, checked before a one-shot command prints it. */
const outcomeReaders: { [C in CommandName]: (value: unknown) => OutcomeMap[C] } = {
  register(value) {
    const obj = expectObject(value, "a register result");
    return {
      user: checkUserName(obj.user),
      files: expectArray(obj, "files").map(checkFileEntry),
      added: count(obj, "added"),
      updated: count(obj, "updated"),
      total: count(obj, "total"),
    };
  },
  unregister(value) {
    const obj = expectObject(value, "an unregister result");
    return { user: checkUserName(obj.user), removed: expectArray(obj, "removed").map(checkPath) };
  },
  "list-files": (value) => readResult("list-files", value),
  users(value) {
    const obj = expectObject(value, "a users result");
    return {
      users: readResult("list-users", obj).users,
      refreshedAt: nullable(obj.refreshedAt, () => expectString(obj, "refreshedAt")),
      file: expectString(obj, "file"),
    };
  },
  status(value) {
    const obj = expectObject(value, "a status result");
    if (typeof obj.trackerConnected !== "boolean") throw new ProtocolFailure("bad-message", '"trackerConnected" must be a boolean');
    return {
      user: nullable(obj.user, checkUserName),
      home: expectString(obj, "home"),
      tracker: expectString(obj, "tracker"),
      trackerConnected: obj.trackerConnected,
      miniServerPort: expectInteger(obj, "miniServerPort", 0, 65535),
      offered: count(obj, "offered"),
      reachability: nullable(obj.reachability ?? null, (state) => {
        const o = expectObject(state, "a reachability state");
        return { report: readReachabilityReport(o.report), at: expectString(o, "at") };
      }),
      portMapping: nullable(obj.portMapping ?? null, readPortMapState),
    };
  },
  download(value) {
    const obj = expectObject(value, "a download result");
    const registerError = optionalString(obj, "registerError");
    return {
      user: checkUserName(obj.user),
      path: checkPath(obj.path),
      saved: checkPath(obj.saved),
      size: count(obj, "size"),
      root: checkDigest(obj.root),
      seconds: seconds(obj, "seconds"),
      transferred: count(obj, "transferred"),
      resumed: count(obj, "resumed"),
      refetched: count(obj, "refetched"),
      sources: expectArray(obj, "sources").map(readSourceReport),
      registeredAs: nullable(obj.registeredAs, checkUserName),
      ...(registerError === undefined ? {} : { registerError }),
    };
  },
};

export function readOutcome<C extends CommandName>(cmd: C, value: unknown): OutcomeMap[C] {
  return outcomeReaders[cmd](value);
}
