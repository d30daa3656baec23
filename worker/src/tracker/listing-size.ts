/**
 * What each file adds to the listing's JSON, so the catalog can be kept
 * under its budget without serialising anything. The count is an upper
 * bound: every size is taken as 16 digits, the longest a safe integer has,
 * so re-registering a path with another size never changes it.
 */
import { utf8Length } from "@p2p/shared";

/**
 * `{"user":"","path":"","size":,"root":""}` (39 bytes), the root (64), the
 * longest size (16), and the comma between entries (1).
 */
const ENTRY_OVERHEAD = 39 + 64 + 16 + 1;

/** Room for what surrounds the listing: the brackets and a reply's envelope with its id. */
export const LISTING_ENVELOPE_BYTES = 1024;

export interface EntrySize {
  /** The path in UTF-8. */
  pathBytes: number;
  /** The whole entry in the listing's JSON. */
  listingBytes: number;
}

/** Paths are checked to hold no control characters, so JSON escapes only `"` and `\` in them. */
function escapes(path: string): number {
  let count = 0;
  for (let i = path.indexOf('"'); i !== -1; i = path.indexOf('"', i + 1)) count++;
  for (let i = path.indexOf("\\"); i !== -1; i = path.indexOf("\\", i + 1)) count++;
  return count;
}

export function entrySize(user: string, path: string): EntrySize {
  const pathBytes = utf8Length(path);
  // User names are ASCII: one byte per character.
  return { pathBytes, listingBytes: ENTRY_OVERHEAD + user.length + pathBytes + escapes(path) };
}
