/**
 * Commands from a one-shot `p2p-peer …` to the running peer over its control
 * socket: one JSON line each way, plus progress events for downloads.
 */
import {
  checkPath,
  checkUserName,
  expectArray,
  expectObject,
  expectString,
  isObject,
  ProtocolFailure,
  type FileListing,
  type UserAddress,
} from "@p2p/shared";

export type ControlCommand =
  | { cmd: "register"; user: string; paths: string[] }
  | { cmd: "unregister"; user: string; paths: string[] }
  | { cmd: "list-files" }
  | { cmd: "users" }
  | { cmd: "status" }
  | { cmd: "download"; user: string; path: string; save: string; force: boolean; singleSource: boolean };

export type ControlRequest = ControlCommand & { id: number };

export interface RegisteredFile {
  path: string;
  size: number;
  sha256: string;
}

export interface RegisterOutcome {
  user: string;
  files: RegisteredFile[];
  added: number;
  updated: number;
  total: number;
}

export interface UnregisterOutcome {
  user: string;
  removed: string[];
  unknown: string[];
}

export interface UsersOutcome {
  users: UserAddress[];
  refreshedAt: string | null;
  file: string;
}

export interface StatusOutcome {
  user: string | null;
  home: string;
  tracker: string;
  trackerConnected: boolean;
  miniServerPort: number;
  offered: number;
}

export interface SourceSummary {
  user: string;
  /** Pieces this source delivered and that checked out. */
  pieces: number;
  bytes: number;
  /** Why the source was dropped, if it was. */
  dropped?: string;
}

export interface DownloadOutcome {
  user: string;
  path: string;
  saved: string;
  size: number;
  sha256: string;
  seconds: number;
  /** Bytes fetched in this run (a resumed download fetches only what was missing). */
  transferred: number;
  /** Bytes found verified in `<save>.part` from an earlier, interrupted run. */
  resumed: number;
  /** Pieces asked for again after a source failed or lied. */
  refetched: number;
  sources: SourceSummary[];
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

export type ControlReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string; exitCode: number } }
  | ({ id: number } & ControlEvent);

/** What a running command reports before its result: download progress and dropped sources. */
export type ControlEvent =
  | { event: "progress"; received: number; total: number; sources: number }
  | { event: "dropped"; user: string; reason: string };

const pathList = (obj: Record<string, unknown>): string[] => expectArray(obj, "paths").map(checkPath);

/** The peer checks every command; the socket is private, but still a process boundary. */
export function parseControlRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolFailure("bad-json", "the command is not JSON");
  }
  const obj = expectObject(value, "a command");
  const id = obj.id;
  if (typeof id !== "number" || !Number.isSafeInteger(id)) throw new ProtocolFailure("bad-message", '"id" must be an integer');
  switch (obj.cmd) {
    case "register":
    case "unregister":
      return { id, cmd: obj.cmd, user: checkUserName(obj.user), paths: pathList(obj) };
    case "list-files":
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
  const obj = expectObject(JSON.parse(line), "a reply");
  if (typeof obj.id !== "number") throw new ProtocolFailure("bad-message", "the reply has no id");
  if (obj.event === "progress" && typeof obj.received === "number" && typeof obj.total === "number" && typeof obj.sources === "number") {
    return { id: obj.id, event: "progress", received: obj.received, total: obj.total, sources: obj.sources };
  }
  if (obj.event === "dropped" && typeof obj.user === "string" && typeof obj.reason === "string") {
    return { id: obj.id, event: "dropped", user: obj.user, reason: obj.reason };
  }
  if (obj.ok === true) return { id: obj.id, ok: true, result: obj.result };
  if (obj.ok === false && isObject(obj.error)) {
    const { code, message, exitCode } = obj.error;
    if (typeof code === "string" && typeof message === "string" && typeof exitCode === "number") {
      return { id: obj.id, ok: false, error: { code, message, exitCode } };
    }
  }
  throw new ProtocolFailure("bad-message", "the peer sent a malformed reply");
}
