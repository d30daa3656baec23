/**
 * Helpers for the sharded tracker's tests (TRACKER_SHARDS = 4, project
 * "worker-shards"): where a name lives, sockets opened on a name's shard,
 * reads through the HTTP API and inside each shard object, a peer's copy of
 * the catalog, and waits with deadlines.
 */
import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { PROTOCOL_VERSION, parseStats, type FileListing, type ListedUser, type TrackerStats } from "@p2p/shared";
import { sync, update, type Copy } from "../catalog-copy.ts";
import { TrackerSocket } from "../tracker-socket.ts";

export const SHARDS = 4;
export const BASE = "http://tracker.test";

/** FNV-1a over UTF-16 code units, then murmur3's fmix32, as the tracker places names: written out here so that a change there is noticed. */
export function shardOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) % SHARDS;
}

/** A name starting with `prefix` that lands on `shard`. */
export function nameOn(shard: number, prefix: string): string {
  for (let i = 0; ; i++) {
    const name = `${prefix}${i}`;
    if (shardOf(name) === shard) return name;
  }
}

export const shardStub = (index: number) => env.TRACKER.get(env.TRACKER.idFromName(`shard-${index}/${SHARDS}`));
export const hubStub = () => env.HUB.get(env.HUB.idFromName(`hub/${SHARDS}`));

/** The user names a shard object holds, read inside it. */
export const usersIn = (index: number): Promise<string[]> =>
  runInDurableObject(shardStub(index), (instance) => instance.localUsers().map((u) => u.user));

/** Which shard a socket was accepted by: its connection is in that object only. */
export async function shardOfSocket(probe: (index: number) => Promise<boolean>): Promise<number> {
  for (let i = 0; i < SHARDS; i++) if (await probe(i)) return i;
  return -1;
}

// ---- sockets, closed after each test (closeAll) -----------------------------

const opened: TrackerSocket[] = [];

/**
 * A peer's socket: `/ws?user=<user>` when a user is given (routed to its
 * shard), else `/ws` (any shard). It said hello and heard its reachability
 * report, which would otherwise move the version later on its own.
 */
export async function peer(user?: string, port = 4000): Promise<TrackerSocket> {
  const socket = await TrackerSocket.open({}, user === undefined ? "/ws" : `/ws?user=${encodeURIComponent(user)}`);
  opened.push(socket);
  await socket.ok("hello", { port, protocol: PROTOCOL_VERSION });
  await socket.report();
  return socket;
}

/** Closes every socket the test opened and waits until no shard lists anything. */
export async function closeAll(): Promise<void> {
  for (const socket of opened.splice(0)) if (!socket.closed) await socket.close();
  await until(stats, (s) => s.users === 0 && s.files === 0, "every shard to be empty after the test");
}

// ---- reads -------------------------------------------------------------------

export async function getJson<T>(path: string): Promise<T> {
  const res = await exports.default.fetch(`${BASE}${path}`);
  if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function stats(): Promise<TrackerStats> {
  const res = await exports.default.fetch(`${BASE}/api/stats`);
  if (res.status !== 200) throw new Error(`GET /api/stats: ${res.status}`);
  return parseStats(await res.text());
}

export const apiFiles = () => getJson<FileListing[]>("/api/files");
export const apiUsers = () => getJson<ListedUser[]>("/api/users");
export const names = (users: readonly { user: string }[]) => users.map((u) => u.user);

/** Every page of a files query through the HTTP API, following `next`; each page's size too. */
export async function filesPagesHttp(params: Record<string, string | number>): Promise<{ files: FileListing[]; pages: { count: number; next: string | null }[] }> {
  const files: FileListing[] = [];
  const pages: { count: number; next: string | null }[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    if (cursor !== null) query.set("cursor", cursor);
    const page: { files: FileListing[]; next: string | null } = await getJson(`/api/files?${query}`);
    files.push(...page.files);
    pages.push({ count: page.files.length, next: page.next });
    cursor = page.next;
    if (pages.length > 100_000) throw new Error("paging never ends");
  } while (cursor !== null);
  return { files, pages };
}

export async function usersPagesHttp(limit: number): Promise<ListedUser[]> {
  const users: ListedUser[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor !== null) query.set("cursor", cursor);
    const page: { users: ListedUser[]; next: string | null } = await getJson(`/api/users?${query}`);
    users.push(...page.users);
    cursor = page.next;
  } while (cursor !== null);
  return users;
}

/** The whole listing's order: by user, then path (code units, as the tracker sorts). */
export const byUserThenPath = (a: FileListing, b: FileListing) => (a.user < b.user ? -1 : a.user > b.user ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

// ---- a peer's copy of the catalog --------------------------------------------

export type { Copy };

export { sync, update };

/**
 * Waits until the copy, brought up to date by sync alone, equals the full
 * listings read over the same socket: shards publish to the hub and the hub
 * broadcasts a few tens of ms after each change, so the global version
 * catches up with what the shards list a moment later.
 */
export async function settledCopy(socket: TrackerSocket, start: Copy | null): Promise<Copy> {
  let copy = await update(socket, start);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const files = (await socket.ok("list-files", {})).files as FileListing[];
    const users = (await socket.ok("list-users", {})).users as ListedUser[];
    if (JSON.stringify(copy.catalog.fileList()) === JSON.stringify(files) && JSON.stringify(copy.catalog.userList()) === JSON.stringify(users)) return copy;
    if (Date.now() > deadline) {
      throw new Error(
        `the copy never matched the listings:\n copy users ${JSON.stringify(names(copy.catalog.userList()))}\n listed ${JSON.stringify(names(users))}\n copy files ${copy.catalog.fileList().length}, listed ${files.length}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
    copy = await update(socket, copy);
  }
}

// ---- waiting -----------------------------------------------------------------

/** Reads until `ok` holds (deadline `ms`, 5 s by default). */
export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value).slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export { TrackerSocket };
