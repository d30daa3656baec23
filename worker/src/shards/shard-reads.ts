/**
 * Reads that need every shard: each shard answers from its own store (the
 * `local…` methods of the Tracker object), and the one asked merges
 * (merge.ts). A shard answers itself directly, the others by RPC, all at
 * once: a read costs one message to each other shard (SCALING.md).
 */
import { DEFAULT_PAGE_LIMIT, type ListedUser, type TrackerStats } from "@p2p/shared";
import { PAGE_ENTRY_BYTES, type FilesQuery, type Page, type UsersQuery } from "../tracker/paging.ts";
import type { ViewSource } from "../tracker/page-view.ts";
import { mergeChunks, mergeFilesPages, mergeUsersPages } from "./merge.ts";

/** `started`: when this shard's current epoch began (ms), as its change log says. */
export type LocalStats = Pick<TrackerStats, "users" | "files" | "bytes" | "contents" | "watching"> & { started: number | null };

/** What each shard answers from its own store. */
export interface LocalReads {
  localChunks(): { user: string; json: string }[];
  localUsers(): ListedUser[];
  localFilesPage(query: FilesQuery, maxBytes: number): Page;
  localUsersPage(query: UsersQuery, maxBytes: number, withFiles: boolean): Page;
  localStats(): LocalStats;
  localCountBefore(first: { user: string; path: string }, onlyUser: string | undefined): number;
  localFilesOf(user: string): number;
}

type Remote = { [K in keyof LocalReads]: (...args: Parameters<LocalReads[K]>) => Promise<ReturnType<LocalReads[K]>> };

export class ShardReads {
  readonly #self: LocalReads;
  readonly #others: () => Remote[];

  constructor(self: LocalReads, others: () => Remote[]) {
    this.#self = self;
    this.#others = others;
  }

  async #all<K extends keyof LocalReads>(method: K, ...args: Parameters<LocalReads[K]>): Promise<ReturnType<LocalReads[K]>[]> {
    const own = (this.#self[method] as (...a: unknown[]) => ReturnType<LocalReads[K]>)(...args);
    const others = await Promise.all(this.#others().map((shard) => (shard[method] as (...a: unknown[]) => Promise<ReturnType<LocalReads[K]>>)(...args)));
    return [own, ...others];
  }

  async filesJson(): Promise<string> {
    return mergeChunks(await this.#all("localChunks"));
  }

  async users(): Promise<ListedUser[]> {
    return (await this.#all("localUsers")).flat().sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  async filesPage(query: FilesQuery, maxBytes = PAGE_ENTRY_BYTES): Promise<Page> {
    return mergeFilesPages(await this.#all("localFilesPage", query, maxBytes), query.limit ?? DEFAULT_PAGE_LIMIT, maxBytes);
  }

  async usersPage(query: UsersQuery, maxBytes = PAGE_ENTRY_BYTES, withFiles = false): Promise<Page> {
    return mergeUsersPages(await this.#all("localUsersPage", query, maxBytes, withFiles), query.limit ?? DEFAULT_PAGE_LIMIT, maxBytes);
  }

  /**
   * Sums. A content held on two shards counts on each: `contents` is an upper bound here (SCALING.md).
   * The start is the earliest shard's, so the uptime does not depend on which shard a request reached.
   */
  async stats(): Promise<LocalStats> {
    const parts = await this.#all("localStats");
    const sum = (key: Exclude<keyof LocalStats, "started">) => parts.reduce((total, part) => total + part[key], 0);
    const starts = parts.flatMap((part) => (typeof part.started === "number" ? [part.started] : []));
    return {
      users: sum("users"),
      files: sum("files"),
      bytes: Math.min(Number.MAX_SAFE_INTEGER, sum("bytes")),
      contents: sum("contents"),
      watching: sum("watching"),
      started: starts.length === 0 ? null : Math.min(...starts),
    };
  }

  /** The live page's parts, from every shard. */
  viewSource(): ViewSource {
    return {
      usersPage: (query) => this.usersPage(query, PAGE_ENTRY_BYTES, true),
      filesPage: (query) => this.filesPage(query),
      countBefore: async (first, onlyUser) => (await this.#all("localCountBefore", first, onlyUser)).reduce((a, b) => a + b, 0),
      filesOf: async (user) => (await this.#all("localFilesOf", user)).reduce((a, b) => a + b, 0),
    };
  }
}
