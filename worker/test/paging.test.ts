import { exports } from "cloudflare:workers";
import { MAX_PAGE_BYTES, MAX_PAGE_LIMIT, MAX_SCANNED_PER_PAGE, fileCursor, type FileListing } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, file, sha } from "./tracker-socket.ts";

type FilesPage = { files: FileListing[]; next: string | null; version: string };
const key = (f: { user: string; path: string }) => `${f.user}:${f.path}`;

/** Every page of list-files for these filters, in order. */
async function allPages(socket: TrackerSocket, query: Record<string, unknown>): Promise<FilesPage[]> {
  const pages: FilesPage[] = [];
  let cursor: string | null | undefined;
  do {
    const page: FilesPage = await socket.ok("list-files", { ...query, ...(cursor ? { cursor } : {}) });
    pages.push(page);
    cursor = page.next;
  } while (cursor);
  return pages;
}

const http = async (path: string) => {
  const res = await exports.default.fetch(`http://tracker.test${path}`);
  return { status: res.status, body: (await res.json()) as any };
};

describe("paged list-files", () => {
  it("walks the whole listing in order, each entry once, and the last page says so", async () => {
    const a = await TrackerSocket.hello();
    const b = await TrackerSocket.hello();
    await a.ok("register", { user: "page-a", files: ["/3", "/1", "/2", "/5", "/4"].map((p) => file(p)) });
    await b.ok("register", { user: "page-b", files: ["/x", "/y"].map((p) => file(p)) });
    const whole = (await a.ok("list-files", {})).files as FileListing[];

    const pages = await allPages(a, { limit: 3 });
    expect(pages.flatMap((p) => p.files)).toEqual(whole);
    expect(pages.slice(0, -1).every((p) => p.files.length === 3 && p.next !== null)).toBe(true);
    expect(pages.at(-1)!.next).toBeNull();
    expect(pages[0]!.version).toMatch(/^[0-9a-z]+-\d+$/);
    await a.close();
    await b.close();
  });

  it("is stable while the catalog changes: an entry that stays is listed exactly once", async () => {
    const a = await TrackerSocket.hello();
    await a.ok("register", { user: "stable", files: ["/b", "/d", "/f", "/h", "/j"].map((p) => file(p)) });
    const first: FilesPage = await a.ok("list-files", { user: "stable", limit: 2 });
    expect(first.files.map((f) => f.path)).toEqual(["/b", "/d"]);
    // Before the cursor, after it, and the next entry removed.
    await a.ok("register", { user: "stable", files: [file("/a"), file("/e")] });
    await a.ok("unregister", { user: "stable", paths: ["/f"] });
    const rest = await allPages(a, { user: "stable", limit: 2, cursor: first.next });
    expect([...first.files, ...rest.flatMap((p) => p.files)].map((f) => f.path)).toEqual(["/b", "/d", "/e", "/h", "/j"]);
    await a.close();
  });

  it("never serves an entry from before a change, whole or paged", async () => {
    const a = await TrackerSocket.hello();
    const mine = async () => {
      const whole = (await a.ok("list-files", {})).files.filter((f: FileListing) => f.user === "fresh").map((f: FileListing) => `${f.path}@${f.size}`);
      const paged = (await allPages(a, { user: "fresh" })).flatMap((p) => p.files).map((f) => `${f.path}@${f.size}`);
      expect(paged).toEqual(whole);
      return whole;
    };
    await a.ok("register", { user: "fresh", files: [file("/1", 1), file("/2", 2)] });
    expect(await mine()).toEqual(["/1@1", "/2@2"]);
    await a.ok("unregister", { user: "fresh", paths: ["/1"] });
    expect(await mine()).toEqual(["/2@2"]);
    await a.ok("register", { user: "fresh", files: [file("/2", 20)] });
    expect(await mine()).toEqual(["/2@20"]);
    await a.close();
  });

  it("filters by user, by text in the path (ignoring case) and by content root, on the tracker", async () => {
    const a = await TrackerSocket.hello();
    const b = await TrackerSocket.hello();
    await a.ok("register", { user: "filter-a", files: [file("/Music/Song.MP3", 1, "1"), file("/docs/notes.txt", 2, "2")] });
    await b.ok("register", { user: "filter-b", files: [file("/music/other.mp3", 1, "1"), file("/x/song-lyrics.txt", 3, "3")] });
    const whole = (await a.ok("list-files", {})).files as FileListing[];
    const paths = (pages: FilesPage[]) => pages.flatMap((p) => p.files).map(key);

    expect(paths(await allPages(a, { user: "filter-b" }))).toEqual(whole.filter((f) => f.user === "filter-b").map(key));
    expect(paths(await allPages(a, { q: "SONG" }))).toEqual(whole.filter((f) => f.path.toLowerCase().includes("song")).map(key));
    expect(paths(await allPages(a, { root: sha("1") }))).toEqual(["filter-a:/Music/Song.MP3", "filter-b:/music/other.mp3"]);
    expect(paths(await allPages(a, { user: "filter-a", q: "mp3", root: sha("1"), limit: 1 }))).toEqual(["filter-a:/Music/Song.MP3"]);
    expect(paths(await allPages(a, { user: "nobody-here" }))).toEqual([]);
    await a.close();
    await b.close();
  });

  it("looks at a bounded number of entries per page, so a filter that matches little never walks the whole catalog at once", async () => {
    const holders: TrackerSocket[] = [];
    for (let u = 0; u < 3; u++) {
      const socket = await TrackerSocket.hello();
      holders.push(socket);
      for (let from = 0; from < 10_000; from += 1000) {
        const files = Array.from({ length: 1000 }, (_, i) => file(`/scan/${u}/${from + i}${u === 2 && from + i === 9999 ? "-needle" : ""}`));
        await socket.ok("register", { user: `scan${u}`, files });
      }
    }
    const pages = await allPages(holders[0]!, { q: "NEEDLE", limit: MAX_PAGE_LIMIT });
    // 30,000 entries with the one match at the very end: the first page ends empty, with a cursor.
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(30_000 / MAX_SCANNED_PER_PAGE));
    expect(pages[0]!.files).toEqual([]);
    expect(pages[0]!.next).not.toBeNull();
    expect(pages.flatMap((p) => p.files).map(key)).toEqual(["scan2:/scan/2/9999-needle"]);
    for (const socket of holders) await socket.close();
  });

  it("charges a filter the paths it looked at: one socket asking again and again is rate-limited, not the tracker held up", async () => {
    const holder = await TrackerSocket.hello();
    // 2,500 paths of 400 bytes: a megabyte of paths for every filtered page to look through.
    const files = Array.from({ length: 2500 }, (_, i) => file(`/scan-cost/${String(i).padStart(5, "0")}/`.padEnd(400, "x")));
    for (let from = 0; from < files.length; from += 500) await holder.ok("register", { user: "scancost", files: files.slice(from, from + 500) });
    const asker = await TrackerSocket.hello();
    let limited = false;
    for (let i = 0; i < 40 && !limited; i++) {
      asker.ws.send(JSON.stringify({ id: `scan${i}`, type: "list-files", user: "scancost", q: "no such text" }));
      const text = await asker.nextWithin(2000);
      limited = text === null || (JSON.parse(text) as { error?: { code: string } }).error?.code === "rate-limited";
    }
    // Without the charge 40 such requests are 40 tokens of a 400-token budget.
    expect(limited).toBe(true);
    await asker.close();
    await holder.close();
  });

  it("never sends a catalog-sized page: at most MAX_PAGE_BYTES whatever the limit", async () => {
    const sockets = await Promise.all([TrackerSocket.hello(), TrackerSocket.hello()]);
    // 2 × 200 files with 4,000-byte paths: 1.6 MB of listing.
    await Promise.all(
      sockets.map((s, i) => s.ok("register", { user: `big-page-${i}`, files: Array.from({ length: 200 }, (_, f) => file(`/${"p".repeat(3990)}/${f}`)) })),
    );
    const pages = await allPages(sockets[0]!, { q: "pppp", limit: MAX_PAGE_LIMIT });
    expect(pages.length).toBeGreaterThan(1);
    // The whole reply, envelope and next cursor included.
    for (const page of pages) expect(new TextEncoder().encode(JSON.stringify({ id: 1, ok: true, result: page })).length).toBeLessThanOrEqual(MAX_PAGE_BYTES);
    expect(pages.flatMap((p) => p.files)).toHaveLength(400);
    await Promise.all(sockets.map((s) => s.close()));
  });

  it("refuses a bad cursor, limit or filter with its own code and changes nothing", async () => {
    const peer = await TrackerSocket.hello();
    await peer.ok("register", { user: "page-bad", files: [file("/k")] });
    const before = await peer.ok("list-files", {});
    const cases: [Record<string, unknown>, string][] = [
      [{ cursor: "not a cursor" }, "invalid-cursor"],
      [{ cursor: btoa('["page-bad","relative"]') }, "invalid-cursor"],
      [{ limit: 0 }, "invalid-limit"],
      [{ limit: MAX_PAGE_LIMIT + 1 }, "invalid-limit"],
      [{ limit: "5" }, "invalid-limit"],
      [{ q: "" }, "invalid-filter"],
      [{ user: "no spaces" }, "invalid-name"],
      [{ root: "ABC" }, "invalid-file"],
    ];
    for (const [body, code] of cases) {
      expect(await peer.raw(JSON.stringify({ id: 5, type: "list-files", ...body })), JSON.stringify(body)).toMatchObject({ ok: false, error: { code } });
    }
    expect(await peer.raw(JSON.stringify({ id: 6, type: "list-users", cursor: fileCursor({ user: "u", path: "/p" }) }))).toMatchObject({
      ok: false,
      error: { code: "invalid-cursor" },
    });
    expect(await peer.ok("list-files", {})).toEqual(before);
    await peer.close();
  });
});

describe("paged list-users", () => {
  it("walks every user in order, one page at a time", async () => {
    const sockets = await Promise.all(Array.from({ length: 5 }, (_, i) => TrackerSocket.hello(6000 + i)));
    await Promise.all(sockets.map((s, i) => s.ok("register", { user: `pu-${i}`, files: [] })));
    const whole = (await sockets[0]!.ok("list-users", {})).users;
    const seen: unknown[] = [];
    let cursor: string | null = null;
    do {
      const page: { users: unknown[]; next: string | null } = await sockets[0]!.ok("list-users", { limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.users.length).toBeLessThanOrEqual(2);
      seen.push(...page.users);
      cursor = page.next;
    } while (cursor);
    expect(seen).toEqual(whole);
    await Promise.all(sockets.map((s) => s.close()));
  });
});

describe("GET /api/files and /api/users with a query", () => {
  it("answer the same pages as the WebSocket, and without a query the whole listing as before", async () => {
    const peer = await TrackerSocket.hello(4500);
    await peer.ok("register", { user: "http-page", files: [file("/h/1"), file("/h/2"), file("/h/3")] });

    const first = await http("/api/files?user=http-page&limit=2");
    expect(first.status).toBe(200);
    expect(first.body).toEqual(await peer.ok("list-files", { user: "http-page", limit: 2 }));
    const second = await http(`/api/files?user=http-page&limit=2&cursor=${first.body.next}`);
    expect([...first.body.files, ...second.body.files].map((f: FileListing) => f.path)).toEqual(["/h/1", "/h/2", "/h/3"]);
    expect(second.body.next).toBeNull();
    expect((await http("/api/files?q=%2Fh%2F3")).body.files.map(key)).toEqual(["http-page:/h/3"]);

    const users = await http("/api/users?limit=1");
    expect(users.body).toMatchObject({ users: [expect.any(Object)], version: expect.any(String) });
    expect(users.body).toHaveProperty("next");
    expect(Array.isArray((await http("/api/files")).body)).toBe(true);
    expect(Array.isArray((await http("/api/users")).body)).toBe(true);
    await peer.close();
  });

  it("refuse a bad query with 400 and the code that says what is wrong", async () => {
    const cases: [string, string][] = [
      ["/api/files?limit=abc", "invalid-limit"],
      ["/api/files?limit=1e3", "invalid-limit"],
      ["/api/files?limit=0", "invalid-limit"],
      [`/api/files?limit=${MAX_PAGE_LIMIT + 1}`, "invalid-limit"],
      ["/api/files?cursor=xyz%21", "invalid-cursor"],
      ["/api/files?user=a%20b", "invalid-name"],
      ["/api/files?root=123", "invalid-file"],
      ["/api/files?q=", "invalid-filter"],
      ["/api/files?usr=alice", "bad-message"],
      ["/api/files?limit=1&limit=2", "bad-message"],
      ["/api/users?q=x", "bad-message"],
      [`/api/users?cursor=${fileCursor({ user: "u", path: "/p" })}`, "invalid-cursor"],
    ];
    for (const [path, code] of cases) {
      const res = await http(path);
      expect({ path, status: res.status, code: res.body.error?.code }).toEqual({ path, status: 400, code });
    }
  });
});
