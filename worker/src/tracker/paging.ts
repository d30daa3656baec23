/**
 * Pages of the listings, filtered: cut from each user's cached entries
 * (user-files.ts), never by serialising the catalog. A page starts after its
 * cursor's key (found by binary search), holds at most `limit` entries and
 * stops before MAX_PAGE_BYTES, and ends with the cursor of its last entry
 * when more follow. The same query, from a WebSocket request or an HTTP
 * query string, gives the same page.
 */
import {
  DEFAULT_PAGE_LIMIT,
  MAX_CURSOR_LENGTH,
  MAX_PAGE_BYTES,
  MAX_SCANNED_BYTES_PER_PAGE,
  MAX_SCANNED_PER_PAGE,
  fileCursor,
  readFileCursor,
  readUserCursor,
  userCursor,
  utf8Length,
  type Reachable,
  type Version,
} from "@p2p/shared";
import type { TrackerStore } from "./store.ts";
import { indexAfter } from "./user-files.ts";

/** The fields of a list-files request that choose a page (checked where they came in). */
export interface FilesQuery {
  user?: string;
  q?: string;
  root?: string;
  limit?: number;
  cursor?: string;
}

export interface UsersQuery {
  limit?: number;
  cursor?: string;
}

/** Whether a list-files request asks for a page rather than the whole listing. */
export const isPaged = (query: FilesQuery): boolean =>
  query.user !== undefined || query.q !== undefined || query.root !== undefined || query.limit !== undefined || query.cursor !== undefined;

/** Room a reply needs around a page's entries: its envelope and id, the next cursor and the version. */
const PAGE_ENVELOPE_BYTES = MAX_CURSOR_LENGTH + 1024;

/** What a page's entries may take: a whole reply stays within MAX_PAGE_BYTES. */
export const PAGE_ENTRY_BYTES = MAX_PAGE_BYTES - PAGE_ENVELOPE_BYTES;

/** A page's entries as a JSON array, and the cursor of the next page. */
export interface Page {
  json: string;
  next: string | null;
  /** Bytes of paths a filter looked at (0 without one): what the page cost to cut. */
  scanned?: number;
}

/** Collects entries' JSON up to a limit and the page bound; says when one more would not fit. */
class PageBuilder {
  readonly #parts: string[] = [];
  readonly #limit: number;
  readonly #maxBytes: number;
  #bytes = 2;

  constructor(limit: number, maxBytes: number) {
    this.#limit = limit;
    this.#maxBytes = maxBytes;
  }

  /** Adds an entry, or returns false (the page is full) and leaves it for the next page. */
  add(json: string, bytes: number): boolean {
    if (this.#parts.length >= this.#limit) return false;
    if (this.#parts.length > 0 && this.#bytes + bytes + 1 > this.#maxBytes) return false;
    this.#parts.push(json);
    this.#bytes += bytes + 1;
    return true;
  }

  json(): string {
    return `[${this.#parts.join(",")}]`;
  }
}

/** The first index in sorted `names` whose name comes after `name` (or, `inclusive`, is it). */
function nameIndex(names: readonly string[], name: string, inclusive: boolean): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (names[mid]! < name || (!inclusive && names[mid] === name)) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** `maxBytes`: what the entries may take (a snapshot holds two pages in one reply). */
export function filesPage(store: TrackerStore, query: FilesQuery, maxBytes = PAGE_ENTRY_BYTES): Page {
  const after = query.cursor === undefined ? undefined : readFileCursor(query.cursor);
  const page = new PageBuilder(query.limit ?? DEFAULT_PAGE_LIMIT, maxBytes);
  const needle = query.q?.toLowerCase();
  const names = query.user !== undefined ? (store.filesOf(query.user) ? [query.user] : []) : store.userNames();
  const filtered = query.root !== undefined || needle !== undefined;
  /** The last entry looked at: the next page starts after it. */
  let last: { user: string; path: string } | null = null;
  let scanned = 0;
  let scannedBytes = 0;
  // The cursor's user may have more files after its path; users after it start from their first.
  for (let u = after ? nameIndex(names, after.user, true) : 0; u < names.length; u++) {
    const user = names[u]!;
    const files = store.filesOf(user)?.sorted() ?? [];
    for (let i = after && user === after.user ? indexAfter(files, after.path) : 0; i < files.length; i++) {
      // A filter that matches little must not walk the whole catalog in one request:
      // the page ends after so many entries, matches or not, and the cursor goes on from there.
      if (filtered && last !== null && (++scanned > MAX_SCANNED_PER_PAGE || scannedBytes > MAX_SCANNED_BYTES_PER_PAGE)) {
        return { json: page.json(), next: fileCursor(last), scanned: scannedBytes };
      }
      const { path, row } = files[i]!;
      if (needle !== undefined) scannedBytes += path.length;
      const matches = (query.root === undefined || row.root === query.root) && (needle === undefined || (row.lower ??= path.toLowerCase()).includes(needle));
      if (matches && !page.add(row.json, row.bytes)) return { json: page.json(), next: fileCursor(last!), scanned: scannedBytes };
      last = { user, path };
    }
  }
  return { json: page.json(), next: null, scanned: scannedBytes };
}

/** With `reachableOf`, each user also says what the reachability probe found, as list-users and sync show it. */
export function usersPage(store: TrackerStore, query: UsersQuery, reachableOf?: (user: string) => Reachable, maxBytes = PAGE_ENTRY_BYTES): Page {
  const names = store.userNames();
  const page = new PageBuilder(query.limit ?? DEFAULT_PAGE_LIMIT, maxBytes);
  let last: string | null = null;
  for (let u = query.cursor === undefined ? 0 : nameIndex(names, readUserCursor(query.cursor), false); u < names.length; u++) {
    const user = names[u]!;
    const { host, port } = store.userAddress(user)!;
    const json = JSON.stringify(reachableOf ? { user, host, port, reachable: reachableOf(user) } : { user, host, port });
    if (!page.add(json, utf8Length(json))) return { json: page.json(), next: userCursor(last!) };
    last = user;
  }
  return { json: page.json(), next: null };
}

/** `{"files":[…],"next":…,"version":…}`: the reply to a paged list-files, and GET /api/files with a query. */
export const filesPageJson = (page: Page, version: Version): string =>
  `{"files":${page.json},"next":${JSON.stringify(page.next)},"version":${JSON.stringify(version)}}`;

export const usersPageJson = (page: Page, version: Version): string =>
  `{"users":${page.json},"next":${JSON.stringify(page.next)},"version":${JSON.stringify(version)}}`;
