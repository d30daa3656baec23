/**
 * Pages of the listings merged from every shard. Each user lives wholly on
 * one shard, and each shard answers the same query from the same cursor in
 * listing order, so the first entries of the union are among each shard's
 * first entries, with one catch: a shard that stopped early (its page was
 * full, or a filter's scan bound ended it) has not looked past its own next
 * cursor, so the merged page must not go past the lowest such cursor either,
 * or what that shard holds before it would be skipped by the next page.
 */
import { fileCursor, readFileCursor, readUserCursor, userCursor, utf8Length, type FileListing, type ListedUser } from "@p2p/shared";
import type { Page } from "../tracker/paging.ts";

type Key = readonly [string, string];

const compare = (a: Key, b: Key): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

interface Merging<E> {
  key: (entry: E) => Key;
  cursorKey: (cursor: string) => Key;
  cursorOf: (entry: E) => string;
  cursorAt: (key: Key) => string;
}

function mergePages<E>(parts: readonly Page[], limit: number, maxBytes: number, how: Merging<E>): Page {
  let frontier: Key | null = null;
  for (const part of parts) {
    if (part.next === null) continue;
    const key = how.cursorKey(part.next);
    if (frontier === null || compare(key, frontier) < 0) frontier = key;
  }
  const entries = parts.flatMap((part) => JSON.parse(part.json) as E[]).sort((a, b) => compare(how.key(a), how.key(b)));
  const taken: string[] = [];
  let bytes = 2;
  let last: E | null = null;
  let stopped = false;
  for (const entry of entries) {
    if (frontier !== null && compare(how.key(entry), frontier) > 0) break;
    const json = JSON.stringify(entry);
    const size = utf8Length(json) + 1;
    if (taken.length >= limit || (taken.length > 0 && bytes + size > maxBytes)) {
      stopped = true;
      break;
    }
    taken.push(json);
    bytes += size;
    last = entry;
  }
  const more = stopped || frontier !== null || taken.length < entries.length;
  const next = !more ? null : last !== null ? how.cursorOf(last) : how.cursorAt(frontier!);
  const scanned = parts.reduce((sum, part) => sum + (part.scanned ?? 0), 0);
  return { json: `[${taken.join(",")}]`, next, scanned };
}

export const mergeFilesPages = (parts: readonly Page[], limit: number, maxBytes: number): Page =>
  mergePages<FileListing>(parts, limit, maxBytes, {
    key: (f) => [f.user, f.path],
    cursorKey: (cursor) => {
      const { user, path } = readFileCursor(cursor);
      return [user, path];
    },
    cursorOf: (f) => fileCursor({ user: f.user, path: f.path }),
    cursorAt: ([user, path]) => fileCursor({ user, path }),
  });

export const mergeUsersPages = (parts: readonly Page[], limit: number, maxBytes: number): Page =>
  mergePages<ListedUser>(parts, limit, maxBytes, {
    key: (u) => [u.user, ""],
    cursorKey: (cursor) => [readUserCursor(cursor), ""],
    cursorOf: (u) => userCursor(u.user),
    cursorAt: ([user]) => userCursor(user),
  });

/** Every shard's stretches of the full listing (one per user, its entries' JSON), joined in listing order. */
export function mergeChunks(parts: readonly (readonly { user: string; json: string }[])[]): string {
  const chunks = parts.flat().sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  return `[${chunks.map((chunk) => chunk.json).join(",")}]`;
}
