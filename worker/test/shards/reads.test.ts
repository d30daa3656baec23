/**
 * Reads gathered from every shard: whole listings, pages (with filters)
 * followed by their cursors, the totals and the live page, as a user sees
 * them whichever shard answers. A page must never skip or repeat an entry,
 * even where a filter's scan bound cut some shards' pages short.
 */
import { evictDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import fc from "fast-check";
import { MAX_SCANNED_BYTES_PER_PAGE, type FileListing } from "@p2p/shared";
import { afterEach, describe, expect, it } from "vitest";
import { file, sha } from "../tracker-socket.ts";
import {
  BASE,
  SHARDS,
  apiFiles,
  apiUsers,
  byUserThenPath,
  closeAll,
  filesPagesHttp,
  nameOn,
  names,
  peer,
  shardOf,
  shardStub,
  stats,
  until,
  usersIn,
  usersPagesHttp,
  type TrackerSocket,
} from "./shards.ts";

afterEach(closeAll);

/** Every page of a files query over a socket, following `next`. */
async function filesPagesWs(socket: TrackerSocket, query: Record<string, unknown>): Promise<FileListing[]> {
  const files: FileListing[] = [];
  let cursor: string | null = null;
  do {
    const page: { files: FileListing[]; next: string | null } = await socket.ok("list-files", cursor === null ? query : { ...query, cursor });
    files.push(...page.files);
    cursor = page.next;
  } while (cursor !== null);
  return files;
}

async function usersPagesWs(socket: TrackerSocket, limit: number): Promise<string[]> {
  const users: string[] = [];
  let cursor: string | null = null;
  do {
    const page: { users: { user: string }[]; next: string | null } = await socket.ok("list-users", cursor === null ? { limit } : { limit, cursor });
    users.push(...names(page.users));
    cursor = page.next;
  } while (cursor !== null);
  return users;
}

const keyOf = (f: FileListing) => `${f.user}\u0000${f.path}`;

/** What a filtered page walk must give: the full listing, filtered as the tracker filters (q: case-insensitive substring of the path). */
function filtered(all: readonly FileListing[], query: { q?: string; root?: string; user?: string }): FileListing[] {
  return all.filter(
    (f) => (query.user === undefined || f.user === query.user) && (query.root === undefined || f.root === query.root) && (query.q === undefined || f.path.toLowerCase().includes(query.q.toLowerCase())),
  );
}

/** Users on every shard, three per shard, with files whose paths and roots vary. */
async function populate(prefix: string): Promise<{ users: string[]; sockets: TrackerSocket[] }> {
  const users: string[] = [];
  const sockets: TrackerSocket[] = [];
  for (let n = 0; n < 3; n++) {
    for (let shard = 0; shard < SHARDS; shard++) {
      const user = nameOn(shard, `${prefix}${n}-`);
      const socket = await peer(user, 4000 + users.length);
      const files = Array.from({ length: 5 + ((n * 7 + shard * 3) % 9) }, (_, i) =>
        file(`/${["music", "Docs", "src"][i % 3]}/${i % 2 === 0 ? "Report" : "notes"}-${i}.${["ogg", "pdf", "txt"][(i + shard) % 3]}`, 100 + i, ["1", "2", "3"][(i + n) % 3]),
      );
      await socket.ok("register", { user, files });
      users.push(user);
      sockets.push(socket);
    }
  }
  return { users: users.sort(), sockets };
}

describe("gathered listings", () => {
  it("list whole: every shard's users and files, in order, the same over a socket on any shard and through /api", async () => {
    const { users, sockets } = await populate("whole-");
    for (let shard = 0; shard < SHARDS; shard++) expect((await usersIn(shard)).every((u) => shardOf(u) === shard)).toBe(true);

    const files = await apiFiles();
    expect(files.length).toBeGreaterThan(60);
    expect(files).toEqual([...files].sort(byUserThenPath));
    expect(new Set(files.map((f) => f.user))).toEqual(new Set(users));
    expect(names(await apiUsers())).toEqual(users);
    // One socket on each shard: each gathers the same listing.
    for (const socket of sockets.slice(0, SHARDS)) {
      expect((await socket.ok("list-files", {})).files).toEqual(files);
      expect(names((await socket.ok("list-users", {})).users)).toEqual(users);
    }
    const totals = await stats();
    expect(totals).toMatchObject({ users: users.length, files: files.length, bytes: files.reduce((s, f) => s + f.size, 0) });
  });

  it("pages of 1, 3 and 7 followed by their cursors visit every entry once, in order, with and without filters", async () => {
    const { users, sockets } = await populate("paged-");
    const all = await apiFiles();
    const reader = sockets[1]!;
    const queries: { q?: string; root?: string; user?: string }[] = [
      {},
      { q: "report" },
      { q: "PDF" },
      { root: sha("2") },
      { q: "notes", root: sha("1") },
      { user: users[5]! },
      { user: users[5]!, q: "ogg" },
      { q: "no-such-path" },
      { user: nameOn(0, "nobody-") },
    ];
    for (const query of queries) {
      const expected = filtered(all, query);
      for (const limit of [1, 3, 7]) {
        const http = await filesPagesHttp({ ...query, limit });
        expect(http.files, `HTTP ${JSON.stringify(query)} limit ${limit}`).toEqual(expected);
        expect(http.pages.every((p) => p.count <= limit)).toBe(true);
        expect(await filesPagesWs(reader, { ...query, limit }), `socket ${JSON.stringify(query)} limit ${limit}`).toEqual(expected);
      }
    }
    for (const limit of [1, 3, 7]) {
      expect(names(await usersPagesHttp(limit))).toEqual(users);
      expect(await usersPagesWs(reader, limit)).toEqual(users);
    }
  });

  it("a search that matches few among many, cut by the scan bound on every shard, still walks to exactly the matches", async () => {
    // Two users a shard, in an order that interleaves the shards; 1,500 long paths each: 1.2 MB of paths a shard, past the bound.
    const users: string[] = [];
    for (const round of ["a", "b"]) for (let shard = 0; shard < SHARDS; shard++) users.push(nameOn(shard, `scan-${round}${shard}-`));
    expect([...users].sort()).toEqual(users);
    const long = "d".repeat(400);
    const pathsOf = (u: number) => Array.from({ length: 1500 }, (_, i) => `/${long}/${u}-${String(i).padStart(4, "0")}${i % 50 === 7 ? "-Needle" : ""}`);
    expect(pathsOf(0).reduce((s, p) => s + p.length, 0) * 2).toBeGreaterThan(MAX_SCANNED_BYTES_PER_PAGE);
    for (const [u, user] of users.entries()) {
      const socket = await peer(user);
      const paths = pathsOf(u);
      for (let start = 0; start < paths.length; start += 1000) {
        await socket.ok("register", { user, files: paths.slice(start, start + 1000).map((p) => file(p, 1, String(u % 3))) });
      }
    }
    const all = await apiFiles();
    expect(all).toHaveLength(12_000);
    const expected = filtered(all, { q: "needle" });
    expect(expected).toHaveLength(240);

    for (const limit of [1000, 100, 7]) {
      const walk = await filesPagesHttp({ q: "needle", limit });
      expect(walk.files.map(keyOf), `limit ${limit}`).toEqual(expected.map(keyOf));
      // With room for more matches than 1 MB of paths holds on a shard, the bound did cut: a page ended short with more to come.
      if (limit === 1000) expect(walk.pages.some((p) => p.next !== null && p.count < limit)).toBe(true);
    }
    // Root and user filters over the same catalog.
    expect((await filesPagesHttp({ root: sha("1"), limit: 2000 })).files.map(keyOf)).toEqual(filtered(all, { root: sha("1") }).map(keyOf));
    expect((await filesPagesHttp({ user: users[6]!, q: "NEEDLE", limit: 4 })).files.map(keyOf)).toEqual(filtered(all, { user: users[6]!, q: "needle" }).map(keyOf));
  }, 60_000);
});

describe("paged traversal (property)", () => {
  const fileArb = fc.record({
    dir: fc.constantFrom("a", "B", "ab", "x"),
    name: fc.stringMatching(/^[a-zA-Z0-9]{1,4}$/),
    root: fc.constantFrom("1", "2", "3"),
  });
  const scenario = fc.record({
    users: fc.uniqueArray(fc.record({ name: fc.stringMatching(/^[a-zA-Z0-9._-]{1,6}$/), files: fc.array(fileArb, { maxLength: 12 }) }), {
      minLength: 1,
      maxLength: 7,
      selector: (u) => u.name,
    }),
    limit: fc.integer({ min: 1, max: 9 }),
    q: fc.option(fc.constantFrom("a", "b", "ab", "x/", "zz"), { nil: undefined }),
    root: fc.option(fc.constantFrom("1", "2"), { nil: undefined }),
    userFilter: fc.option(fc.nat(7), { nil: undefined }),
  });

  let run = 0;
  it("random users over the shards, random files and limits: the pages followed by cursors equal the filtered full listing", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ users, limit, q, root, userFilter }) => {
        run++;
        const registered: string[] = [];
        for (const { name, files } of users) {
          const user = `p${run}.${name}`;
          const socket = await peer(user);
          await socket.ok("register", { user, files: files.map((f) => file(`/${f.dir}/${f.name}`, 1, f.root)) });
          registered.push(user);
        }
        const all = await apiFiles();
        const query = {
          ...(q !== undefined ? { q } : {}),
          ...(root !== undefined ? { root: sha(root) } : {}),
          ...(userFilter !== undefined ? { user: registered[userFilter % registered.length]! } : {}),
        };
        const walk = await filesPagesHttp({ ...query, limit });
        expect(walk.files).toEqual(filtered(all, query));
        expect(walk.pages.every((p) => p.count <= limit)).toBe(true);
        expect(names(await usersPagesHttp(limit))).toEqual([...registered].sort());
        await closeAll();
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});

describe("totals and the live page", () => {
  it("/api/stats sums every shard, and / shows users and files from every shard with the gathered totals", async () => {
    const users: string[] = [];
    const sockets: TrackerSocket[] = [];
    let bytes = 0;
    for (let shard = 0; shard < SHARDS; shard++) {
      const user = nameOn(shard, "live-");
      const socket = await peer(user, 4700 + shard);
      sockets.push(socket);
      const files = Array.from({ length: shard + 1 }, (_, i) => file(`/live/${shard}/${i}.txt`, 1000 * (shard + 1) + i, String(i)));
      bytes += files.reduce((s, f) => s + f.size, 0);
      await socket.ok("register", { user, files });
      users.push(user);
    }
    expect(await stats()).toMatchObject({ users: 4, files: 10, bytes, contents: expect.any(Number) });
    // Roots "0".."3": held on several shards, counted on each (an upper bound, SCALING.md).
    expect((await stats()).contents).toBeGreaterThanOrEqual(4);

    const res = await exports.default.fetch(`${BASE}/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/<title>Tracker: 4 users online, 10 files<\/title>/);
    for (const [shard, user] of users.entries()) {
      expect(html).toContain(user);
      expect(html).toContain(`<code>127.0.0.1:${4700 + shard}</code>`);
      expect(html).toContain(`/live/${shard}/`);
    }
    expect(html).toMatch(/<dt>Files<\/dt><dd[^>]*>10<\/dd>/);
    expect(html).toMatch(/<dt>Users online<\/dt><dd[^>]*>4<\/dd>/);

    // A later page of the files counts the entries before it over every shard: entries 4–6 of 10.
    const second = await exports.default.fetch(`${BASE}/?limit=3&cursor=${encodeURIComponent((await filesPagesHttp({ limit: 3 })).pages[0]!.next!)}`);
    expect(await second.text()).toMatch(/4–6 of 10/);

    // The totals and the page follow a close on one shard (shard 2: three files, 3000 + 3001 + 3002 bytes).
    await sockets[2]!.close();
    await until(stats, (s) => s.users === 3 && s.files === 7 && s.bytes === bytes - 9003, "the totals to drop the closed shard-2 user");
    // The page's tables are cut once per global version, which moves a few tens of ms after the shard's own change
    // (publish, then broadcast); its totals are gathered on every request. Until then a page may show the new totals
    // over the old tables (reported as a bug), so wait for them to agree.
    const after = await until(
      async () => (await exports.default.fetch(`${BASE}/`)).text(),
      (html) => !html.includes(users[2]!),
      "the live page to drop the closed user",
    );
    expect(after).toMatch(/<title>Tracker: 3 users online, 7 files<\/title>/);
    expect(after).not.toContain(users[2]!);
    for (const shard of [0, 1, 3]) expect(after).toContain(users[shard]!);
  });

  it("/api/stats is the same whichever shard answers: one start and uptime, even after a shard restarted", async () => {
    for (let shard = 0; shard < SHARDS; shard++) await shardStub(shard).stats();
    const earliest = (await shardStub(0).stats()).startedAt;
    // Shard 1 restarts with no socket: a new epoch, started later than the others.
    await new Promise((resolve) => setTimeout(resolve, 20));
    await evictDurableObject(shardStub(1), { webSockets: "close" });
    const answers = [];
    for (let shard = 0; shard < SHARDS; shard++) answers.push(await shardStub(shard).stats());
    expect(answers.every((a) => a.startedAt !== null)).toBe(true);
    expect(new Set(answers.map((a) => a.startedAt)).size).toBe(1);
    expect(answers[0]!.startedAt).toBe(earliest);
    expect(new Set(answers.map((a) => `${a.users}/${a.files}/${a.bytes}/${a.version}`)).size).toBe(1);
  });
});
