/**
 * Paged listings: the cursor a page ends with, and the checks on a page's
 * parameters. A cursor names the last entry a page held (a user, or a user
 * and a path), so the next page starts right after it whatever changed in
 * between: an entry that stayed is listed exactly once. It is base64url, so
 * it travels in a URL as it is; the tracker reads back only cursors that
 * name a valid key.
 */
import { MAX_CURSOR_LENGTH, MAX_PAGE_LIMIT, MAX_QUERY_LENGTH } from "./limits.ts";
import { ProtocolFailure, UNPRINTABLE, checkPath, checkUserName } from "./validate.ts";

/** Where a file sits in the listing's order: by user, then by path. */
export interface FileKey {
  user: string;
  path: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function toBase64Url(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return decoder.decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

export const fileCursor = ({ user, path }: FileKey): string => toBase64Url(JSON.stringify([user, path]));
export const userCursor = (user: string): string => toBase64Url(JSON.stringify([user]));

const badCursor = (): never => {
  throw new ProtocolFailure("invalid-cursor", "the cursor is not one this tracker wrote for this listing: pass a page's next as it is, with the same filters");
};

/** The key a cursor names; `parts` is 1 for users, 2 for files. */
function readKey(value: unknown, parts: 1 | 2): string[] {
  if (typeof value !== "string" || value.length > MAX_CURSOR_LENGTH) return badCursor();
  const text = fromBase64Url(value);
  if (text === undefined) return badCursor();
  let key: unknown;
  try {
    key = JSON.parse(text);
  } catch {
    return badCursor();
  }
  if (!Array.isArray(key) || key.length !== parts || !key.every((part) => typeof part === "string")) return badCursor();
  try {
    checkUserName(key[0]);
    if (parts === 2) checkPath(key[1]);
  } catch {
    return badCursor();
  }
  return key as string[];
}

export function readFileCursor(value: unknown): FileKey {
  const [user, path] = readKey(value, 2) as [string, string];
  return { user, path };
}

export function readUserCursor(value: unknown): string {
  return readKey(value, 1)[0]!;
}

export function checkLimit(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1 || value > MAX_PAGE_LIMIT) {
    throw new ProtocolFailure("invalid-limit", `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${JSON.stringify(value)}`);
  }
  return value;
}


/** A path filter: text to find in paths, ignoring case. */
export function checkQuery(value: unknown): string {
  // As paths: no control characters, no lone surrogates (no path could match one anyway).
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_QUERY_LENGTH || UNPRINTABLE.test(value)) {
    throw new ProtocolFailure("invalid-filter", `the path filter must be 1–${MAX_QUERY_LENGTH} characters without control characters or lone surrogates`);
  }
  return value;
}
