/**
 * What the live page shows, cut in one call inside the object: the totals,
 * one page of users and one page of files, all from the same moment. Pages
 * come from the same cursors and filters as list-files and list-users
 * (paging.ts), so the page never ships the catalog, whatever its size.
 */
import type { FileListing, Reachable, TrackerStats, Version } from "@p2p/shared";
import { filesPage, usersPage, type FilesQuery, type Page, type UsersQuery } from "./paging.ts";
import type { TrackerStore } from "./store.ts";

export interface PageQuery {
  /** The files' filters and page, as list-files takes them. */
  files: FilesQuery;
  /** Where the users' page starts (a list-users cursor). */
  usersCursor?: string;
}

export interface PageUser {
  user: string;
  host: string;
  port: number;
  reachable: Reachable;
  files: number;
}

export interface PageView {
  stats: TrackerStats;
  /** The version the page is told from: what the observer's pings carry (notices.ts). */
  told: Version;
  users: PageUser[];
  usersNext: string | null;
  files: FileListing[];
  filesNext: string | null;
  /** Entries before this page in the listing, when the page is not filtered by a path or a root (a number is cheap to tell then). */
  offset: number | null;
  /** Entries the filter may match, when that is cheap to tell: the whole listing, or one user's files. */
  total: number | null;
}

export const USERS_PER_PAGE = 25;
export const DEFAULT_FILES_PER_PAGE = 100;
/**
 * A filtered page stops after looking at so many entries (paging.ts); the
 * page asks for the rest of its rows this many times more before it shows
 * fewer and a link to search on.
 */
const FILTER_ROUNDS = 5;

/** What a view holds beside the totals and the told version, which are read fresh for every view. */
type ViewParts = Omit<PageView, "stats" | "told">;

/** Views cut at one version, at most this many: every open page asks for its view again after each notice. */
const KEPT_VIEWS = 64;

/**
 * Views of the current version, by query. Every open page fetches its view
 * again when a notice comes, and most show the same first page: with many
 * pages open, the first one cuts it and the others get it from here.
 */
export class PageViews {
  #version: Version | null = null;
  readonly #views = new Map<string, ViewParts>();

  /** `version` null: cut afresh, and not kept. */
  async get(version: Version | null, source: ViewSource, query: PageQuery, stats: TrackerStats, told: Version): Promise<PageView> {
    if (version === null) return { stats, told, ...(await viewParts(source, query, stats)) };
    if (version !== this.#version) {
      this.#views.clear();
      this.#version = version;
    }
    const key = JSON.stringify([query.files.user, query.files.q, query.files.root, query.files.limit, query.files.cursor, query.usersCursor]);
    let parts = this.#views.get(key);
    if (parts === undefined) {
      parts = await viewParts(source, query, stats);
      if (this.#views.size >= KEPT_VIEWS) this.#views.delete(this.#views.keys().next().value!);
      this.#views.set(key, parts);
    }
    return { stats, told, ...parts };
  }
}

/** Where a view's parts come from: one object's store, or every shard's (shards/shard-reads.ts). */
export interface ViewSource {
  /** A users' page whose entries also say how many files each user offers. */
  usersPage(query: UsersQuery): Promise<Page>;
  filesPage(query: FilesQuery): Promise<Page>;
  /** Entries before `first` in the listing, or in `onlyUser`'s files. */
  countBefore(first: { user: string; path: string }, onlyUser: string | undefined): Promise<number>;
  filesOf(user: string): Promise<number>;
}

/** One object's store as a view source. */
export function storeSource(store: TrackerStore, reachableOf: (user: string) => Reachable): ViewSource {
  return {
    usersPage: async (query) => localUsersWithFiles(store, query, reachableOf),
    filesPage: async (query) => filesPage(store, query),
    countBefore: async (first, onlyUser) => countBefore(store, first, onlyUser),
    filesOf: async (user) => store.filesOf(user)?.size ?? 0,
  };
}

/** A users' page with each user's file count beside what list-users says. */
export function localUsersWithFiles(store: TrackerStore, query: UsersQuery, reachableOf: (user: string) => Reachable): Page {
  const page = usersPage(store, query, reachableOf);
  const users = (JSON.parse(page.json) as Omit<PageUser, "files">[]).map((u) => ({ ...u, files: store.filesOf(u.user)?.size ?? 0 }));
  return { ...page, json: JSON.stringify(users) };
}

async function viewParts(source: ViewSource, query: PageQuery, stats: TrackerStats): Promise<ViewParts> {
  const usersPart = await source.usersPage({ limit: USERS_PER_PAGE, ...(query.usersCursor !== undefined ? { cursor: query.usersCursor } : {}) });
  const users = JSON.parse(usersPart.json) as PageUser[];

  const limit = query.files.limit ?? DEFAULT_FILES_PER_PAGE;
  const files: FileListing[] = [];
  let cursor = query.files.cursor;
  let next: string | null = null;
  const searching = query.files.q !== undefined || query.files.root !== undefined;
  for (let round = 0; round < (searching ? FILTER_ROUNDS : 1); round++) {
    const part = await source.filesPage({ ...query.files, limit: limit - files.length, ...(cursor !== undefined ? { cursor } : {}) });
    files.push(...(JSON.parse(part.json) as FileListing[]));
    next = part.next;
    if (next === null || files.length >= limit) break;
    cursor = next;
  }
  const user = query.files.user;
  const first = files[0];
  return {
    users,
    usersNext: usersPart.next,
    files,
    filesNext: next,
    offset: searching || first === undefined ? null : await source.countBefore(first, user),
    total: searching ? null : user === undefined ? stats.files : await source.filesOf(user),
  };
}

/** How many entries come before `first` in the listing (or in one user's files): a sum over users, then a search in one. */
export function countBefore(store: TrackerStore, first: { user: string; path: string }, onlyUser: string | undefined): number {
  let before = 0;
  if (onlyUser === undefined) {
    for (const name of store.userNames()) {
      if (name >= first.user) break;
      before += store.filesOf(name)?.size ?? 0;
    }
  }
  const files = store.filesOf(first.user)?.sorted() ?? [];
  let low = 0;
  let high = files.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (files[mid]!.path < first.path) low = mid + 1;
    else high = mid;
  }
  return before + low;
}
