/**
 * The live page, through the real worker and the real tracker object: the
 * totals of GET /api/stats, the server-rendered page at GET /, the observer
 * socket at /live, and the sign-in flow when P2P_TOKEN is set.
 *
 * Every test closes what it opened and waits for the tracker to be empty
 * again (afterEach), so the totals each test reads are exact, not deltas.
 */
import { env, exports } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import {
  MAX_OBSERVERS,
  MAX_OBSERVERS_PER_ADDRESS,
  MAX_SOCKETS_PER_ADDRESS,
  PING,
  PONG,
  PROTOCOL_VERSION,
  parseStats,
  pingFor,
  pongFor,
  type TrackerStats,
} from "@p2p/shared";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import { TrackerSocket, api, file, sha, upgrade } from "./tracker-socket.ts";

const BASE = "http://tracker.test";
const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

// ---- sockets, closed after every test -------------------------------------

const opened: TrackerSocket[] = [];
const track = (socket: TrackerSocket): TrackerSocket => (opened.push(socket), socket);
const from = (ip: string): Record<string, string> => ({ "CF-Connecting-IP": ip });

/** A peer that said hello and heard its reachability probe's result, which would otherwise move the version later on its own. */
async function peer(port: number, headers: Record<string, string> = {}): Promise<TrackerSocket> {
  const socket = track(await TrackerSocket.open(headers));
  await socket.ok("hello", { port, protocol: PROTOCOL_VERSION });
  await socket.report();
  return socket;
}

const observer = async (headers: Record<string, string> = {}): Promise<TrackerSocket> => track(await TrackerSocket.open(headers, "/live"));

afterEach(async () => {
  for (const socket of opened.splice(0)) if (!socket.closed) await socket.close();
  await until(stats, (s) => s.users === 0 && s.files === 0 && s.watching === 0, "the tracker to be empty after the test");
});

// ---- reading the tracker --------------------------------------------------

async function stats(): Promise<TrackerStats> {
  const res = await exports.default.fetch(`${BASE}/api/stats`);
  expect(res.status).toBe(200);
  return parseStats(await res.text());
}

/** Reads until `ok` holds (deadline 5 s): closes and notices land a moment after the call that caused them. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The stats recounted from the full listing: what the incremental totals must always equal. */
async function recount(): Promise<Pick<TrackerStats, "users" | "files" | "bytes" | "contents">> {
  const files = await api<{ size: number; root: string }[]>("/api/files");
  const users = await api<unknown[]>("/api/users");
  return { users: users.length, files: files.length, bytes: files.reduce((sum, f) => sum + f.size, 0), contents: new Set(files.map((f) => f.root)).size };
}

interface Page {
  status: number;
  headers: Headers;
  html: string;
}

async function page(query = "", init: RequestInit = {}): Promise<Page> {
  const res = await exports.default.fetch(`${BASE}/${query}`, init);
  return { status: res.status, headers: res.headers, html: await res.text() };
}

const unescape = (text: string): string =>
  text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&");

/** One `<section id=…>` of the page. */
function section(html: string, id: string): string {
  const start = html.indexOf(`<section id="${id}"`);
  if (start === -1) throw new Error(`no section #${id}`);
  return html.slice(start, html.indexOf("</section>", start));
}

/** The files table's rows as "user:path", in page order. */
function fileRows(html: string): string[] {
  const rows = section(html, "files").match(/<tr>.*?<\/tr>/gs) ?? [];
  return rows
    .filter((row) => row.includes('class="path"'))
    .map((row) => {
      const name = /<span class="name">(.*?)<\/span>/s.exec(row)![1]!;
      const dir = /<span class="dir">(.*?)<\/span>/s.exec(row)?.[1] ?? "";
      const user = /<\/td><td><a [^>]*>(.*?)<\/a>/s.exec(row)![1]!;
      return `${unescape(user)}:${unescape(dir)}${unescape(name)}`;
    });
}

/** The `rel="next"` link of a section, as a path to fetch, or null. */
function nextLink(html: string, id: string): string | null {
  const match = /<a href="([^"]*)" rel="next">/.exec(section(html, id));
  return match ? unescape(match[1]!) : null;
}

// ---- /api/stats -----------------------------------------------------------

describe("GET /api/stats", () => {
  it("counts users, files, bytes per holder and distinct roots exactly through register, re-register, unregister and a close", async () => {
    const empty = await stats();
    expect(empty).toMatchObject({ users: 0, files: 0, bytes: 0, contents: 0, watching: 0 });

    const a = await peer(4501);
    const b = await peer(4502);
    await a.ok("register", { user: "lp-stats-a", files: [file("/x", 100, "1"), file("/y", 50, "2")] });
    await b.ok("register", { user: "lp-stats-b", files: [file("/z", 100, "1")] });
    // Root 1 is held twice: one content, its bytes counted for each holder.
    const registered = await stats();
    expect(registered).toMatchObject({ users: 2, files: 3, bytes: 250, contents: 2 });
    expect(registered.version).not.toBe(empty.version);
    expect(await recount()).toEqual({ users: 2, files: 3, bytes: 250, contents: 2 });

    await a.ok("unregister", { user: "lp-stats-a", paths: ["/y", "/never-offered"] });
    const unregistered = await stats();
    expect(unregistered).toMatchObject({ users: 2, files: 2, bytes: 200, contents: 1 });
    expect(unregistered.version).not.toBe(registered.version);

    // The same path again with a new size and root replaces the entry: no second file.
    await b.ok("register", { user: "lp-stats-b", files: [file("/z", 70, "3")] });
    expect(await stats()).toMatchObject({ users: 2, files: 2, bytes: 170, contents: 2 });
    // Offered again exactly as it is: nothing moves, not even the version.
    const before = await stats();
    await b.ok("register", { user: "lp-stats-b", files: [file("/z", 70, "3")] });
    expect(await stats()).toEqual({ ...before, uptimeSeconds: expect.any(Number) });
    expect(await recount()).toEqual({ users: 2, files: 2, bytes: 170, contents: 2 });

    // A's socket closes: its user and every file it offered leave the totals together.
    await a.close();
    const closed = await until(stats, (s) => s.users === 1, "lp-stats-a to go");
    expect(closed).toMatchObject({ users: 1, files: 1, bytes: 70, contents: 1 });
    expect(closed.version).not.toBe(unregistered.version);
    expect(await recount()).toEqual({ users: 1, files: 1, bytes: 70, contents: 1 });
  });

  it("adds and takes away sizes exactly, even where their sum passes 2^53", async () => {
    const a = await peer(4504);
    // Valid sizes (any safe integer): in floating point, 2^53 - 1 + 10 rounds, and taking both away again left -1.
    await a.ok("register", { user: "lp-huge", files: [file("/huge", Number.MAX_SAFE_INTEGER, "8"), file("/small", 10, "9")] });
    // A sum past what a count can say is told as the largest one.
    expect(await stats()).toMatchObject({ files: 2, bytes: Number.MAX_SAFE_INTEGER, contents: 2 });
    await a.ok("unregister", { user: "lp-huge", paths: ["/small"] });
    expect((await stats()).bytes).toBe(Number.MAX_SAFE_INTEGER);
    await a.ok("unregister", { user: "lp-huge", paths: ["/huge"] });
    expect(await stats()).toMatchObject({ files: 0, bytes: 0, contents: 0 });
  });

  it("tells when the tracker started, and for how long it has been up", async () => {
    const res = await exports.default.fetch(`${BASE}/api/stats`);
    expect(res.headers.get("content-type")).toContain("application/json");
    const body = (await res.json()) as TrackerStats;
    expect(parseStats(JSON.stringify(body))).toEqual(body);
    expect(body.startedAt).toEqual(expect.any(String));
    const started = Date.parse(body.startedAt!);
    expect(new Date(started).toISOString()).toBe(body.startedAt);
    expect(started).toBeLessThanOrEqual(Date.now());
    expect(Number.isSafeInteger(body.uptimeSeconds)).toBe(true);
    expect(Math.abs(body.uptimeSeconds! - (Date.now() - started) / 1000)).toBeLessThan(2);
  });

  it("keeps its totals exact across hibernation, read back from storage", async () => {
    const a = await peer(4503);
    await a.ok("register", { user: "lp-sleepy", files: [file("/s1", 7, "4"), file("/s2", 8, "4"), file("/s3", 9, "5")] });
    const awake = await stats();
    expect(awake).toMatchObject({ users: 1, files: 3, bytes: 24, contents: 2 });
    // Writes are batched: wait until storage has them, as a real eviction would find them.
    await until(
      () => runInDurableObject(trackerStub(), (_i, state) => state.storage.sql.exec("SELECT COUNT(*) AS n FROM files").one().n),
      (n) => n === 3,
      "the files to be stored",
    );
    await evictDurableObject(trackerStub());
    expect(await stats()).toMatchObject({ users: 1, files: 3, bytes: 24, contents: 2, version: awake.version, startedAt: awake.startedAt });
    await a.ok("unregister", { user: "lp-sleepy", paths: ["/s3"] });
    expect(await stats()).toMatchObject({ files: 2, bytes: 15, contents: 1 });
  });
});

// ---- GET / ----------------------------------------------------------------

describe("GET /", () => {
  it("is a whole HTML page with labelled search fields, the users with their addresses and their files", async () => {
    const a = await peer(4711);
    await a.ok("register", { user: "lp-page", files: [file("/srv/music/song.ogg", 3 * 1024 * 1024, "6"), file("/srv/readme.txt", 12, "7")] });

    const { status, headers, html } = await page();
    expect(status).toBe(200);
    expect(headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toMatch(/<title>Tracker: 1 user online, 2 files<\/title>/);
    for (const name of ["q", "user", "root"]) {
      expect(html).toContain(`<label for="${name}">`);
      expect(html).toMatch(new RegExp(`<input id="${name}" name="${name}"`));
    }
    const users = section(html, "users");
    expect(users).toContain("lp-page");
    expect(users).toContain("<code>127.0.0.1:4711</code>");
    expect(fileRows(html)).toEqual(["lp-page:/srv/music/song.ogg", "lp-page:/srv/readme.txt"]);
    expect(section(html, "files")).toContain("3.00 MiB");
    expect(section(html, "files")).toContain(sha("6"));
    expect(section(html, "totals")).toMatch(/<dt>Files<\/dt><dd>2<\/dd>/);
  });

  it("sends security headers and is never cached; its assets are served", async () => {
    const { headers, html } = await page();
    const csp = headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(headers.get("x-content-type-options")).toBe("nosniff");
    expect(headers.get("cache-control")).toBe("no-store");
    // No inline script or style for the CSP to forbid: both come from the worker.
    expect(html).not.toMatch(/<script>|<style|style="/);
    const hrefs = [...html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(hrefs).toEqual([expect.stringMatching(/^\/assets\/page\.[0-9a-f]{8}\.css$/), expect.stringMatching(/^\/assets\/live\.[0-9a-f]{8}\.js$/)]);
    for (const href of hrefs) {
      const res = await exports.default.fetch(`${BASE}${href}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(href.endsWith(".css") ? /^text\/css/ : /^text\/javascript/);
      expect((await res.text()).length).toBeGreaterThan(0);
    }
    expect((await exports.default.fetch(`${BASE}/assets/page.00000000.css`)).status).toBe(404);
  });

  it("escapes a path that holds markup, and a search that does", async () => {
    const a = await peer(4712);
    const path = "/srv/<img src=x onerror=alert(1)>.txt";
    await a.ok("register", { user: "lp-xss", files: [file(path), file('/srv/"quoted" & <b>bold</b>')] });

    const { html } = await page();
    expect(html).not.toContain("<img src=x");
    expect(html).not.toContain("<b>bold");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;.txt");
    expect(fileRows(html)).toEqual(["lp-xss:/srv/\"quoted\" & <b>bold</b>", `lp-xss:${path}`]);

    // What was typed is shown again, in the field and in the heading: as text.
    const searched = await page(`?q=${encodeURIComponent('"><script>alert(1)</script>')}`);
    expect(searched.status).toBe(200);
    expect(searched.html).not.toContain("<script>alert(1)");
    expect(searched.html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });

  it("filters by path substring whatever the case, by exact user, and by root in either case", async () => {
    const a = await peer(4713);
    const b = await peer(4714);
    await a.ok("register", { user: "lp-find", files: [file("/docs/Annual-REPORT.pdf", 1, "a"), file("/docs/notes.txt", 1, "b")] });
    await b.ok("register", { user: "lp-find2", files: [file("/mirror/report.pdf", 1, "a"), file("/mirror/other.bin", 1, "c")] });

    const byPath = await page("?q=RePoRt");
    expect(byPath.status).toBe(200);
    expect(fileRows(byPath.html)).toEqual(["lp-find:/docs/Annual-REPORT.pdf", "lp-find2:/mirror/report.pdf"]);
    expect(section(byPath.html, "files")).toContain("2 shown");
    expect(byPath.html).toMatch(/<input id="q" name="q" type="search" value="RePoRt"/);

    // "lp-find" is a prefix of "lp-find2": the user filter is exact.
    expect(fileRows((await page("?user=lp-find")).html)).toEqual(["lp-find:/docs/Annual-REPORT.pdf", "lp-find:/docs/notes.txt"]);
    expect(section((await page("?user=lp-find")).html, "files")).toContain("1–2 of 2");

    const everyHolder = ["lp-find:/docs/Annual-REPORT.pdf", "lp-find2:/mirror/report.pdf"];
    expect(fileRows((await page(`?root=${sha("a")}`)).html)).toEqual(everyHolder);
    expect(fileRows((await page(`?root=${sha("a").toUpperCase()}`)).html)).toEqual(everyHolder);

    // Filters combine; an empty field (a form sends them all) is no filter.
    expect(fileRows((await page(`?q=pdf&user=lp-find2&root=`)).html)).toEqual(["lp-find2:/mirror/report.pdf"]);
    const none = await page("?q=nothing-like-this");
    expect(fileRows(none.html)).toEqual([]);
    expect(section(none.html, "files")).toContain("No file matches this search.");
  });

  it("pages through 250 files 100 at a time by following rel=next: every file once, in order, with where it is", async () => {
    const a = await peer(4715);
    const b = await peer(4716);
    const name = (i: number) => `/p/file-${String(i).padStart(3, "0")}`;
    // Two users, so a page starts inside the second user's files too.
    await a.ok("register", { user: "lp-pages-a", files: Array.from({ length: 150 }, (_, i) => file(name(i))) });
    await b.ok("register", { user: "lp-pages-b", files: Array.from({ length: 100 }, (_, i) => file(name(i))) });
    const expected = [...Array.from({ length: 150 }, (_, i) => `lp-pages-a:${name(i)}`), ...Array.from({ length: 100 }, (_, i) => `lp-pages-b:${name(i)}`)];

    const seen: string[] = [];
    const ranges: string[] = [];
    let link: string | null = "/?limit=100";
    while (link !== null) {
      expect(link.startsWith("/")).toBe(true);
      const { status, html } = await page(link.slice(1));
      expect(status).toBe(200);
      seen.push(...fileRows(html));
      ranges.push(/<span>([0-9,]+–[0-9,]+ of [0-9,]+)<\/span>/.exec(section(html, "files"))?.[1] ?? "none");
      link = nextLink(html, "files");
      // The next page keeps the page size.
      if (link !== null) expect(new URL(link, BASE).searchParams.get("limit")).toBe("100");
      expect(seen.length).toBeLessThanOrEqual(250);
    }
    expect(seen).toEqual(expected);
    expect(ranges).toEqual(["1–100 of 250", "101–200 of 250", "201–250 of 250"]);

    // Paging one user's files counts within them.
    const first = await page("?user=lp-pages-b&limit=40");
    expect(fileRows(first.html)).toEqual(expected.slice(150, 190));
    expect(section(first.html, "files")).toContain("1–40 of 100");
    const second = await page(nextLink(first.html, "files")!.slice(1));
    expect(fileRows(second.html)).toEqual(expected.slice(190, 230));
    expect(section(second.html, "files")).toContain("41–80 of 100");
  });

  it("pages the online users 25 at a time", async () => {
    const sockets = await Promise.all(Array.from({ length: 30 }, (_, i) => peer(5000 + i)));
    await Promise.all(sockets.map((s, i) => s.ok("register", { user: `lp-crowd-${String(i).padStart(2, "0")}`, files: [] })));
    const userRows = (html: string) => [...section(html, "users").matchAll(/<tr><td><a [^>]*>([^<]*)<\/a>/g)].map((m) => m[1]!);

    const first = await page();
    expect(userRows(first.html)).toEqual(Array.from({ length: 25 }, (_, i) => `lp-crowd-${String(i).padStart(2, "0")}`));
    const more = nextLink(first.html, "users");
    expect(more).not.toBeNull();
    const rest = await page(more!.slice(1));
    expect(userRows(rest.html)).toEqual(Array.from({ length: 5 }, (_, i) => `lp-crowd-${25 + i}`));
    expect(nextLink(rest.html, "users")).toBeNull();
  });

  it("answers a bad field with 400, its message beside the field, and no files", async () => {
    const a = await peer(4717);
    await a.ok("register", { user: "lp-bad", files: [file("/srv/kept.txt")] });

    const badRoot = await page("?root=zz");
    expect(badRoot.status).toBe(400);
    expect(badRoot.headers.get("content-type")).toContain("text/html");
    expect(badRoot.html).toMatch(/<input id="root" name="root" type="search" value="zz" aria-invalid="true" aria-describedby="root-error"/);
    expect(badRoot.html).toMatch(/<p id="root-error" class="field-error">[^<]*64 lowercase hex digits/);
    expect(section(badRoot.html, "files")).not.toContain("<table");
    expect(section(badRoot.html, "files")).toContain("Fix the search above");
    // The rest of the page is still there, but it does not follow changes: each refresh would fetch a 400.
    expect(section(badRoot.html, "users")).toContain("lp-bad");
    expect(badRoot.html).not.toMatch(/<script|data-version/);
    expect((await page("?root=" + "a".repeat(64))).html).toMatch(/<script src="\/assets\/live\.[0-9a-f]{8}\.js"/);

    const badLimit = await page("?limit=0");
    expect(badLimit.status).toBe(400);
    expect(badLimit.html).toMatch(/class="field-error">files per page must be a whole number/);
    expect(fileRows(badLimit.html)).toEqual([]);

    const badUser = await page("?user=no%20spaces");
    expect(badUser.status).toBe(400);
    expect(badUser.html).toMatch(/<p id="user-error" class="field-error">invalid user name/);

    for (const damaged of ["?cursor=not-a-cursor", "?limit=100&cursor=eyJ1IjoxfQ", "?users=%%%"]) {
      const res = await page(damaged);
      expect(res.status, damaged).toBe(400);
      expect(res.html).toContain("page marker is damaged");
      expect(res.html).toMatch(/<a href="[^"]*">Start from the first page<\/a>/);
      expect(fileRows(res.html)).toEqual([]);
    }
  });
});

// ---- /live ----------------------------------------------------------------

describe("/live", () => {
  it("answers a plain GET with 426, and an upgrade with a socket that is told of changes", async () => {
    const plain = await exports.default.fetch(`${BASE}/live`);
    expect(plain.status).toBe(426);
    expect(await plain.json()).toMatchObject({ error: { code: "upgrade-required" } });

    const res = await upgrade({}, "/live");
    expect(res.status).toBe(101);
    res.webSocket!.accept();
    res.webSocket!.close(1000, "done");

    const watcher = await observer();
    const a = await peer(4801);
    await a.ok("register", { user: "lp-live", files: [file("/srv/new.txt")] });
    const { version } = await stats();
    await watcher.noticeOf(version);
    expect(JSON.parse(watcher.noticeTexts.at(-1)!)).toMatchObject({ type: "changed", v: version });
  });

  it("answers pings with pongs of the version it was told, as a peer's", async () => {
    const watcher = await observer();
    const a = await peer(4802);
    await a.ok("register", { user: "lp-ping", files: [file("/p")] });
    const { version } = await stats();
    await watcher.noticeOf(version);

    watcher.ws.send(pingFor(version));
    expect(await watcher.next()).toBe(pongFor(version));
    watcher.ws.send(PING);
    expect(await watcher.next()).toBe(PONG);
    // A page that missed a change pings with its old version and is told the current one.
    watcher.ws.send(pingFor("0000-stale"));
    expect(await watcher.next()).toBe(pongFor(version));
  });

  it("cannot say hello or register: each gets bad-message, and nothing changes", async () => {
    const watcher = await observer();
    const before = await stats();
    expect(await watcher.request("hello", { port: 4803, protocol: PROTOCOL_VERSION })).toMatchObject({ id: null, ok: false, error: { code: "bad-message" } });
    expect(await watcher.request("register", { user: "lp-intruder", files: [file("/i")] })).toMatchObject({ id: null, ok: false, error: { code: "bad-message" } });
    expect(await watcher.request("list-files", {})).toMatchObject({ ok: false, error: { code: "bad-message" } });
    expect(await watcher.raw("not json")).toMatchObject({ ok: false, error: { code: "bad-message" } });

    expect((await api<{ user: string }[]>("/api/users")).map((u) => u.user)).not.toContain("lp-intruder");
    expect(await stats()).toEqual({ ...before, uptimeSeconds: expect.any(Number) });
    // Still a watcher, still open.
    expect(watcher.closed).toBe(false);
  });

  it("counts open pages in `watching`, and drops one when it closes", async () => {
    const pages = [await observer(), await observer(from("198.51.100.40")), await observer()];
    // A peer that follows changes is not a page.
    const follower = await peer(4808);
    await follower.ok("sync", {});
    expect(await stats()).toMatchObject({ watching: 3, users: 0 });
    await pages[1]!.close();
    await until(stats, (s) => s.watching === 2, "watching to drop to 2");
  });

  it(`refuses a ${MAX_OBSERVERS_PER_ADDRESS + 1}th page from one address with 429, and takes one again once a page closes`, async () => {
    const pages = await Promise.all(Array.from({ length: MAX_OBSERVERS_PER_ADDRESS }, () => observer(from("198.51.100.41"))));
    const refused = await upgrade(from("198.51.100.41"), "/live");
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(await refused.json()).toMatchObject({ error: { code: "too-many-connections", message: expect.stringContaining("198.51.100.41") } });
    // Another address is not held back.
    await observer(from("198.51.100.42"));
    expect((await stats()).watching).toBe(MAX_OBSERVERS_PER_ADDRESS + 1);

    await pages[0]!.close();
    let again: Response | undefined;
    await until(async () => (again = await upgrade(from("198.51.100.41"), "/live")).status, (s) => s === 101, "a free page slot");
    again!.webSocket!.accept();
    again!.webSocket!.close(1000, "done");
  });

  it("keeps pages and peers apart: neither counts against the other's per-address bound", async () => {
    const ip = from("198.51.100.43");
    await Promise.all(Array.from({ length: MAX_OBSERVERS_PER_ADDRESS - 1 }, () => observer(ip)));
    // Every peer socket of the address is still free...
    const peers = await Promise.all(Array.from({ length: MAX_SOCKETS_PER_ADDRESS }, () => TrackerSocket.open(ip).then(track)));
    expect((await upgrade(ip)).status).toBe(429);
    expect(await peers[0]!.ok("hello", { port: 4804, protocol: PROTOCOL_VERSION })).toMatchObject({ host: "198.51.100.43" });
    // ...and with the peers' bound reached, the last page slot is still free, and only then is a page refused.
    await observer(ip);
    expect((await upgrade(ip, "/live")).status).toBe(429);
    expect((await stats()).watching).toBe(MAX_OBSERVERS_PER_ADDRESS);
  });

  it(`refuses page ${MAX_OBSERVERS + 1} in all with 503`, async () => {
    const addresses = MAX_OBSERVERS / MAX_OBSERVERS_PER_ADDRESS;
    for (let a = 0; a < addresses; a++) {
      await Promise.all(Array.from({ length: MAX_OBSERVERS_PER_ADDRESS }, () => observer(from(`198.18.0.${a + 1}`))));
    }
    expect((await stats()).watching).toBe(MAX_OBSERVERS);
    const refused = await upgrade(from("198.18.1.1"), "/live");
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: { code: "too-many-connections" } });
    // Peers are not affected.
    await peer(4805, from("198.18.1.1"));
  });

  it("refuses a handshake from another site's page with 403, and takes one from its own", async () => {
    const crossSite = await upgrade({ Origin: "https://evil.example" }, "/live");
    expect(crossSite.status).toBe(403);
    expect(crossSite.webSocket).toBeNull();
    expect(await crossSite.json()).toMatchObject({ error: { code: "cross-site" } });
    expect((await upgrade({ Origin: "http://tracker.test:8787" }, "/live")).status).toBe(403);
    expect((await upgrade({ Origin: "null" }, "/live")).status).toBe(403);
    await observer({ Origin: BASE });
    expect((await stats()).watching).toBe(1);
  });

  it("is swept by the heartbeat like a peer: a silent page goes, one that pings stays", async () => {
    // No peer is open, and no sweep left over from earlier tests: the pages alone must set it going.
    await runInDurableObject(trackerStub(), (_i, state) => state.storage.deleteAlarm());
    const silent = await observer();
    const pinging = await observer();
    // Both pages were opened an hour ago, as far as the tracker knows; one pings now.
    await runInDurableObject(trackerStub(), (_i, state) => {
      for (const ws of state.getWebSockets("observer")) ws.serializeAttachment({ ...ws.deserializeAttachment(), since: Date.now() - 3_600_000 });
    });
    pinging.ws.send(PING);
    expect(await pinging.next()).toBe(PONG);
    expect(await runDurableObjectAlarm(trackerStub())).toBe(true);

    await until(async () => silent.closed, (closed) => closed, "the silent page to be closed");
    expect(silent.closeCode).toBe(4001);
    expect(pinging.closed).toBe(false);
    expect((await stats()).watching).toBe(1);
  });

  it("stays a page, told of changes, across hibernation", async () => {
    const watcher = await observer();
    const a = await peer(4807);
    await evictDurableObject(trackerStub());
    await a.ok("register", { user: "lp-wake", files: [file("/w")] });
    const { version, watching } = await stats();
    expect(watching).toBe(1);
    await watcher.noticeOf(version);
    expect(await watcher.request("register", { user: "lp-wake2", files: [file("/x")] })).toMatchObject({ ok: false, error: { code: "bad-message" } });
    expect((await stats()).users).toBe(1);
  });
});

// ---- with P2P_TOKEN -------------------------------------------------------

describe("with P2P_TOKEN set", () => {
  const TOKEN = "c0ffee-4b7d2358e1a0c4f9b2d7e3a8";
  // The worker as deployed with the secret (as access.test.ts calls it); the object is the same one.
  const call = (path: string, init: RequestInit = {}) =>
    Promise.resolve(worker.fetch(new Request(`${BASE}${path}`, init), { ...env, P2P_TOKEN: TOKEN }));
  const login = (token: string, headers: Record<string, string> = {}) =>
    call("/login", { method: "POST", body: new URLSearchParams({ token }), headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers } });
  const cookie = { Cookie: `p2p_token=${encodeURIComponent(TOKEN)}` };

  it("shows a sign-in page without the token, and the tracker's page once signed in with a cookie", async () => {
    const a = await peer(4901);
    await a.ok("register", { user: "lp-secret", files: [file("/secret.txt")] });

    const signIn = await call("/");
    expect(signIn.status).toBe(401);
    expect(signIn.headers.get("content-type")).toContain("text/html");
    expect(signIn.headers.get("cache-control")).toBe("no-store");
    const form = await signIn.text();
    expect(form).toMatch(/<form [^>]*method="post" action="\/login"/);
    expect(form).toMatch(/<input id="token" name="token" type="password"/);
    expect(form).not.toContain("lp-secret");

    const wrong = await login("not-the-token");
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();
    expect(await wrong.text()).toContain("The tracker refused that token.");

    const right = await login(TOKEN);
    expect(right.status).toBe(303);
    expect(right.headers.get("location")).toBe("/");
    const set = right.headers.get("set-cookie") ?? "";
    expect(set).toMatch(new RegExp(`^p2p_token=${TOKEN};`));
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Lax/);
    expect(set).toMatch(/; Path=\//);

    const signedIn = await call("/", { headers: { Cookie: set.split(";")[0]! } });
    expect(signedIn.status).toBe(200);
    const html = await signedIn.text();
    expect(fileRows(html)).toEqual(["lp-secret:/secret.txt"]);
    expect(html).toMatch(/<form method="post" action="\/logout">/);
    // A bearer header does as well as the cookie.
    expect((await call("/", { headers: { Authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    // A cookie kept from an older token is told so.
    const stale = await call("/", { headers: { Cookie: "p2p_token=old-token" } });
    expect(stale.status).toBe(401);
    expect(await stale.text()).toContain("no longer the tracker");
  });

  it("guards /api/stats and /live, and leaves the assets public", async () => {
    expect((await call("/api/stats")).status).toBe(401);
    const stats = await call("/api/stats", { headers: cookie });
    expect(stats.status).toBe(200);
    parseStats(await stats.text());

    const refused = await call("/live", { headers: { Upgrade: "websocket" } });
    expect(refused.status).toBe(401);
    expect(refused.webSocket).toBeNull();
    const live = await call("/live", { headers: { Upgrade: "websocket", Origin: BASE, ...cookie } });
    expect(live.status).toBe(101);
    live.webSocket!.accept();
    live.webSocket!.close(1000, "done");

    const href = /href="(\/assets\/page\.[0-9a-f]+\.css)"/.exec(await (await call("/")).text())![1]!;
    expect((await call(href)).status).toBe(200);
  });

  it("refuses sign-in and sign-out posted from another site, and signs out from its own", async () => {
    const forged = await login(TOKEN, { Origin: "https://evil.example" });
    expect(forged.status).toBe(403);
    expect(forged.headers.get("set-cookie")).toBeNull();
    expect((await login(TOKEN, { Origin: BASE })).status).toBe(303);

    expect((await call("/logout", { method: "POST", headers: { Origin: "https://evil.example", ...cookie } })).status).toBe(403);
    const out = await call("/logout", { method: "POST", headers: { Origin: BASE, ...cookie } });
    expect(out.status).toBe(303);
    expect(out.headers.get("set-cookie")).toMatch(/^p2p_token=; Max-Age=0; Path=\//);
  });
});
