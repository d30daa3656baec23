/** Reading tracker → peer replies, checked before a peer trusts them. */
import { isErrorCode } from "./errors.ts";
import { parseJsonObject } from "./json.ts";
import { MAX_REPLY_BYTES } from "./limits.ts";
import { readReachable } from "./reachability.ts";
import { PROTOCOL_VERSION, type RequestId, type RequestType, type ResultMap, type TrackerReply } from "./protocol.ts";
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
    return {
      files: expectArray(obj, "files").map((entry) => {
        const user = checkUserName(expectObject(entry, "a file listing").user);
        return { user, ...checkFileEntry(entry) };
      }),
    };
  },
  "list-users": (value) => {
    const obj = expectObject(value, "a list-users result");
    return {
      users: expectArray(obj, "users").map((entry) => {
        const e = expectObject(entry, "a user");
        return { user: checkUserName(e.user), host: checkHost(expectString(e, "host")), port: checkPort(e.port), reachable: readReachable(e.reachable) };
      }),
    };
  },
};

export function readResult<T extends RequestType>(type: T, value: unknown): ResultMap[T] {
  return readers[type](value);
}
