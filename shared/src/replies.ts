/** Reading tracker → peer replies, checked before a peer trusts them. */
import { isErrorCode } from "./errors.ts";
import { parseJsonObject } from "./json.ts";
import { MAX_REPLY_BYTES } from "./limits.ts";
import { MAX_CURSOR_LENGTH } from "./limits.ts";
import {
  PROTOCOL_VERSION,
  type ChangeSet,
  type FileListing,
  type ListedUser,
  type RequestId,
  type RequestType,
  type ResultMap,
  type SyncResult,
  type TrackerPush,
  type TrackerReply,
  type UserAddress,
} from "./protocol.ts";
import { readReachable } from "./reachability.ts";
import { checkVersion } from "./sync.ts";
import {
  ProtocolFailure,
  checkFileEntry,
  checkHost,
  checkPath,
  checkPort,
  checkUserName,
  expectArray,
  expectInteger,
  expectObject,
  expectString,
  isObject,
  readRequestId,
  type JsonObject,
} from "./validate.ts";

/** Reads the envelope; the result is checked once the request type is known. */
export function parseReplyEnvelope(raw: string): TrackerReply<unknown> {
  if (raw.length > MAX_REPLY_BYTES) throw new ProtocolFailure("too-large", "the tracker's reply is too large");
  const reply = parseJsonObject(raw, "the tracker's reply");
  const id = reply.id === null ? null : readRequestId(reply.id);
  if (id === undefined) throw new ProtocolFailure("bad-message", "the tracker's reply has no valid id");
  if (reply.ok === true) return { id: id as RequestId, ok: true, result: reply.result };
  if (reply.ok === false && isObject(reply.error) && isErrorCode(reply.error.code) && typeof reply.error.message === "string") {
    return { id, ok: false, error: { code: reply.error.code, message: reply.error.message } };
  }
  throw new ProtocolFailure("bad-message", "the tracker's reply is neither a result nor an error");
}

type ResultReader<T extends RequestType> = (value: unknown) => ResultMap[T];

const readers: { [T in RequestType]: ResultReader<T> } = {
  hello: (value) => {
    const obj = expectObject(value, "a hello result");
    if (obj.protocol !== PROTOCOL_VERSION) {
      throw new ProtocolFailure("bad-message", `the tracker speaks ${typeof obj.protocol === "number" ? `protocol ${obj.protocol}` : "an older protocol"}, this peer ${PROTOCOL_VERSION}: upgrade the tracker`);
    }
    return { host: checkHost(obj.host), port: checkPort(obj.port), protocol: PROTOCOL_VERSION };
  },
  register: (value) => {
    const obj = expectObject(value, "a register result");
    return {
      user: checkUserName(obj.user),
      added: expectInteger(obj, "added", 0, Number.MAX_SAFE_INTEGER),
      updated: expectInteger(obj, "updated", 0, Number.MAX_SAFE_INTEGER),
      total: expectInteger(obj, "total", 0, Number.MAX_SAFE_INTEGER),
    };
  },
  unregister: (value) => {
    const obj = expectObject(value, "an unregister result");
    return {
      user: checkUserName(obj.user),
      removed: expectArray(obj, "removed").map(checkPath),
      unknown: expectArray(obj, "unknown").map(checkPath),
    };
  },
  "list-files": (value) => {
    const obj = expectObject(value, "a list-files result");
    return { files: expectArray(obj, "files").map(readListing), ...readPaging(obj) };
  },
  "list-users": (value) => {
    const obj = expectObject(value, "a list-users result");
    return { users: expectArray(obj, "users").map(readListedUser), ...readPaging(obj) };
  },
  sync: (value) => readSync(expectObject(value, "a sync result")),
};

function readListing(entry: unknown): FileListing {
  const user = checkUserName(expectObject(entry, "a file listing").user);
  return { user, ...checkFileEntry(entry) };
}

function readUser(entry: unknown): UserAddress {
  const e = expectObject(entry, "a user");
  return { user: checkUserName(e.user), host: checkHost(expectString(e, "host")), port: checkPort(e.port) };
}

function readListedUser(entry: unknown): ListedUser {
  return { ...readUser(entry), reachable: readReachable(expectObject(entry, "a user").reachable) };
}

/** A cursor is the tracker's to read; here it is only kept within bounds. */
function readCursor(value: unknown, key: string): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_CURSOR_LENGTH) throw new ProtocolFailure("bad-message", `"${key}" must be a cursor or null`);
  return value;
}

/** A page's `next` and `version`, when the listing was paged. */
function readPaging(obj: JsonObject): { next?: string | null; version?: string } {
  return {
    ...(obj.next === undefined ? {} : { next: readCursor(obj.next, "next") }),
    ...(obj.version === undefined ? {} : { version: checkVersion(obj.version) }),
  };
}

function readChanges(value: unknown): ChangeSet {
  const obj = expectObject(value, "a change set");
  return {
    goneUsers: expectArray(obj, "goneUsers").map(checkUserName),
    goneFiles: expectArray(obj, "goneFiles").map((entry) => {
      const e = expectObject(entry, "a removed file");
      return { user: checkUserName(e.user), path: checkPath(e.path) };
    }),
    users: expectArray(obj, "users").map(readListedUser),
    files: expectArray(obj, "files").map(readListing),
  };
}

function readSync(obj: JsonObject): SyncResult {
  const version = checkVersion(obj.version);
  if (obj.unchanged === true) return { version, unchanged: true };
  if (obj.changes !== undefined) return { version, changes: readChanges(obj.changes) };
  const snapshot = expectObject(obj.snapshot, "a sync result's snapshot");
  return {
    version,
    snapshot: {
      users: expectArray(snapshot, "users").map(readListedUser),
      usersNext: readCursor(snapshot.usersNext, "usersNext"),
      files: expectArray(snapshot, "files").map(readListing),
      filesNext: readCursor(snapshot.filesNext, "filesNext"),
    },
  };
}

export function readResult<T extends RequestType>(type: T, value: unknown): ResultMap[T] {
  return readers[type](value);
}

/** A message the tracker sent unasked (`{"type":…}`): a pong or a CHANGED notice, checked like any reply. */
export function parsePush(raw: string): TrackerPush {
  if (raw.length > MAX_REPLY_BYTES) throw new ProtocolFailure("too-large", "the tracker's message is too large");
  const push = parseJsonObject(raw, "a message from the tracker");
  const v = push.v === undefined ? undefined : checkVersion(push.v);
  if (push.type === "pong") return v === undefined ? { type: "pong" } : { type: "pong", v };
  if (push.type !== "changed" || v === undefined) throw new ProtocolFailure("bad-message", `the tracker sent an unknown message of type ${JSON.stringify(push.type)?.slice(0, 40)}`);
  if (push.changes === undefined) return { type: "changed", v };
  return { type: "changed", v, from: checkVersion(push.from), changes: readChanges(push.changes) };
}
