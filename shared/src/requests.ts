/** Reading peer → tracker requests: size, JSON, envelope, then each field. */
import { MAX_MESSAGE_BYTES } from "./limits.ts";
import type { RequestId, TrackerRequest } from "./protocol.ts";
import { PROTOCOL_VERSION, REQUEST_TYPES } from "./protocol.ts";
import type { ProtocolError } from "./errors.ts";
import { checkLimit, checkQuery, readFileCursor, readUserCursor } from "./paging.ts";
import { checkVersion } from "./sync.ts";
import {
  checkDigest,
  ProtocolFailure,
  checkFileCount,
  checkFileEntry,
  checkHost,
  checkPath,
  checkPort,
  checkUserName,
  expectArray,
  isObject,
  readRequestId,
  utf8Length,
} from "./validate.ts";

export type ParsedRequest =
  | { ok: true; request: TrackerRequest }
  | { ok: false; id: RequestId | null; error: ProtocolError };

const failure = (id: RequestId | null, code: ProtocolError["code"], message: string): ParsedRequest => ({
  ok: false,
  id,
  error: { code, message },
});

export function parseRequest(raw: string | ArrayBuffer | ArrayBufferView): ParsedRequest {
  if (typeof raw !== "string") {
    const size = raw.byteLength;
    if (size > MAX_MESSAGE_BYTES) return failure(null, "too-large", tooLarge(size));
    return failure(null, "bad-message", "messages must be JSON text frames, not binary");
  }
  const size = utf8Length(raw);
  if (size > MAX_MESSAGE_BYTES) return failure(null, "too-large", tooLarge(size));

  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return failure(null, "bad-json", `the message is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(value)) return failure(null, "bad-message", "a request must be a JSON object");

  const id = readRequestId(value.id);
  if (id === undefined) {
    return failure(null, "bad-message", '"id" must be an integer or a string of 1–64 characters');
  }
  const type = value.type;
  if (typeof type !== "string") return failure(id, "bad-message", '"type" must be a string');
  if (!(REQUEST_TYPES as readonly string[]).includes(type)) {
    return failure(id, "unknown-type", `unknown request type ${JSON.stringify(type.slice(0, 40))}; expected one of ${REQUEST_TYPES.join(", ")}`);
  }

  try {
    return { ok: true, request: readBody(id, type as TrackerRequest["type"], value) };
  } catch (error) {
    if (error instanceof ProtocolFailure) return failure(id, error.code, error.message);
    throw error;
  }
}

function readBody(id: RequestId, type: TrackerRequest["type"], body: Record<string, unknown>): TrackerRequest {
  switch (type) {
    case "hello": {
      // An older peer names files another way: tell it plainly, in words it knows (bad-message).
      if (body.protocol !== PROTOCOL_VERSION) {
        const theirs = typeof body.protocol === "number" ? `protocol ${body.protocol}` : "protocol 1";
        throw new ProtocolFailure(
          "bad-message",
          `this tracker speaks protocol ${PROTOCOL_VERSION} (files named by their content root) and this peer speaks ${theirs}: upgrade p2p-peer (and the tracker, if the peer is newer)`,
        );
      }
      const port = checkPort(body.port);
      if (body.host === undefined) return { id, type, port, protocol: PROTOCOL_VERSION };
      return { id, type, port, host: checkHost(body.host), protocol: PROTOCOL_VERSION };
    }
    case "register": {
      const user = checkUserName(body.user);
      const files = expectArray(body, "files");
      // No files at all just claims the name.
      checkFileCount(files.length, 0);
      return { id, type, user, files: files.map(checkFileEntry) };
    }
    case "unregister": {
      const user = checkUserName(body.user);
      const paths = expectArray(body, "paths");
      checkFileCount(paths.length);
      return { id, type, user, paths: paths.map(checkPath) };
    }
    case "list-files":
      // A misspelt filter would otherwise list everything.
      onlyKnown(body, ["user", "q", "root", "limit", "cursor"]);
      return {
        id,
        type,
        ...optional(body, "user", checkUserName),
        ...optional(body, "q", checkQuery),
        ...optional(body, "root", checkDigest),
        ...optional(body, "limit", checkLimit),
        ...optional(body, "cursor", (value) => (readFileCursor(value), value as string)),
      };
    case "list-users":
      onlyKnown(body, ["limit", "cursor"]);
      return { id, type, ...optional(body, "limit", checkLimit), ...optional(body, "cursor", (value) => (readUserCursor(value), value as string)) };
    case "sync":
      onlyKnown(body, ["since"]);
      return { id, type, ...optional(body, "since", checkVersion) };
  }
}

/** Refuses a field a query does not know, naming it (the envelope's `id` and `type` aside). */
function onlyKnown(body: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (key !== "id" && key !== "type" && !known.includes(key)) {
      throw new ProtocolFailure("bad-message", `unknown field ${JSON.stringify(key.slice(0, 40))}; this request takes ${known.join(", ")}`);
    }
  }
}

/** `{[key]: check(value)}` when the field is there, `{}` when it is not. */
function optional<K extends string, T>(body: Record<string, unknown>, key: K, check: (value: unknown) => T): { [P in K]?: T } {
  return body[key] === undefined ? {} : ({ [key]: check(body[key]) } as { [P in K]?: T });
}

function tooLarge(size: number): string {
  return `the message is ${size} bytes; at most ${MAX_MESSAGE_BYTES} are allowed`;
}
