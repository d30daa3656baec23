/**
 * Runtime checks for everything that crosses a process boundary. Each check
 * throws a ProtocolFailure whose code says precisely what was wrong.
 */
import type { ErrorCode, ProtocolError } from "./errors.ts";
import {
  MAX_FILES_PER_MESSAGE,
  MAX_HOST_LENGTH,
  MAX_PATH_BYTES,
  USER_NAME_PATTERN,
} from "./limits.ts";
import type { FileEntry, RequestId } from "./protocol.ts";

export class ProtocolFailure extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "ProtocolFailure";
    this.code = code;
  }
  toJSON(): ProtocolError {
    return { code: this.code, message: this.message };
  }
}

const fail = (code: ErrorCode, message: string): never => {
  throw new ProtocolFailure(code, message);
};

const encoder = new TextEncoder();

/**
 * UTF-8 length, as TextEncoder and Buffer.byteLength count it: a lone
 * surrogate becomes U+FFFD (3 bytes). Short strings are encoded outright;
 * longer ones are counted without allocating.
 */
export function utf8Length(text: string): number {
  // Every UTF-16 unit encodes to 1–3 bytes.
  if (text.length * 3 <= 1024) return encoder.encode(text).length;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A pair: one code point above U+FFFF.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;

export function expectObject(value: unknown, what: string): JsonObject {
  return isObject(value) ? value : fail("bad-message", `${what} must be an object, got ${describe(value)}`);
}

export function expectString(obj: JsonObject, key: string): string {
  const value = obj[key];
  return typeof value === "string" ? value : fail("bad-message", `"${key}" must be a string, got ${describe(value)}`);
}

export function expectArray(obj: JsonObject, key: string): unknown[] {
  const value = obj[key];
  return Array.isArray(value) ? value : fail("bad-message", `"${key}" must be an array, got ${describe(value)}`);
}

export function expectInteger(obj: JsonObject, key: string, min: number, max: number): number {
  const value = obj[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    return fail("bad-message", `"${key}" must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) return fail("bad-message", `"${key}" must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** Request ids: a safe integer or a short string, so replies can be matched. */
export function readRequestId(value: unknown): RequestId | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value === "string" && value.length > 0 && value.length <= 64) return value;
  return undefined;
}

export function checkUserName(name: unknown): string {
  if (typeof name !== "string") return fail("invalid-name", `the user name must be a string, got ${describe(name)}`);
  if (!USER_NAME_PATTERN.test(name)) {
    return fail(
      "invalid-name",
      `invalid user name ${JSON.stringify(name.slice(0, 80))}: use 1–64 characters from A–Z, a–z, 0–9, ".", "_" and "-"`,
    );
  }
  return name;
}

/** True for "/x" and for Windows drive paths such as "C:\x". */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
}

/**
 * C0 and C1 control characters (with DEL), and surrogates that are not part
 * of a pair: a listing shown on a terminal or a page must not carry escape
 * sequences or line breaks, and every path must be valid UTF-8.
 */
export const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export function checkPath(path: unknown): string {
  if (typeof path !== "string") return fail("invalid-path", `a path must be a string, got ${describe(path)}`);
  const shown = JSON.stringify(path.slice(0, 80));
  const unprintable = UNPRINTABLE.exec(path);
  if (unprintable) {
    const unit = unprintable[0].charCodeAt(0);
    const what = unit >= 0xd800 ? "a lone surrogate" : "a control character";
    return fail("invalid-path", `path ${shown} contains ${what} (U+${unit.toString(16).toUpperCase().padStart(4, "0")})`);
  }
  if (!isAbsolutePath(path)) return fail("invalid-path", `path ${shown} is not absolute`);
  if (utf8Length(path) > MAX_PATH_BYTES) return fail("invalid-path", `path ${shown}… is longer than ${MAX_PATH_BYTES} bytes`);
  return path;
}

const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

export function checkFileEntry(value: unknown): FileEntry {
  const obj = expectObject(value, "a file entry");
  const path = checkPath(obj.path);
  const { size, root } = obj;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return fail("invalid-file", `size of ${JSON.stringify(path)} must be a non-negative integer, got ${JSON.stringify(size)}`);
  }
  if (!isDigest(root)) return fail("invalid-file", `root of ${JSON.stringify(path)} must be 64 lowercase hex digits`);
  return { path, size, root };
}

const isDigest = (value: unknown): value is string => typeof value === "string" && DIGEST_PATTERN.test(value);

/** A SHA-256 digest (a content root, a piece hash) as 64 lowercase hex digits. */
export function checkDigest(value: unknown): string {
  return isDigest(value) ? value : fail("invalid-file", "a SHA-256 digest must be 64 lowercase hex digits");
}

export function checkFileCount(count: number, min = 1): void {
  if (count < min) fail("bad-message", "name at least one file");
  if (count > MAX_FILES_PER_MESSAGE) {
    fail("too-many-files", `${count} files in one message; at most ${MAX_FILES_PER_MESSAGE} are allowed`);
  }
}

const HOST_PATTERN = /^[A-Za-z0-9.:_%-]+$/;

export function checkHost(host: unknown): string {
  if (typeof host !== "string" || host.length === 0 || host.length > MAX_HOST_LENGTH || !HOST_PATTERN.test(host)) {
    return fail("invalid-address", `host must be a DNS name or an IP address, got ${JSON.stringify(host)}`);
  }
  return host;
}

export function checkPort(port: unknown): number {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    return fail("invalid-address", `port must be an integer from 1 to 65535, got ${JSON.stringify(port)}`);
  }
  return port;
}
