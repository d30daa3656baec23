import { env, exports } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { PING, PONG, parseVersion, pingFor, pongFor, type ChangeSet } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { sync, update } from "./catalog-copy.ts";
import { TrackerSocket, file } from "./tracker-socket.ts";

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));
const versionOf = async (socket: TrackerSocket): Promise<string> => (await sync(socket)).version;

/** Registers 1,000 files with long paths under `user`: about 600 KB of changes. */
async function registerBulk(socket: TrackerSocket, user: string): Promise<void> {
  const files = Array.from({ length: 1000 }, (_, i) => file(`/${user}/${"d".repeat(480)}/${i}`));
  await socket.ok("register", { user, files });
}

describe("versions", () => {
  it("move with every change; since the current one is unchanged, since an older one the changes that bring a copy up to date", async () => {
    const watcher = await TrackerSocket.probed();
    const copy = await update(watcher, null);
    expect(await sync(watcher, copy.version)).toEqual({ version: copy.version, unchanged: true });

    const peer = await TrackerSocket.probed(4321);
    await peer.ok("register", { user: "ver-a", files: [file("/a1"), file("/a2")] });
    const afterRegister = await sync(watcher, copy.version);
    expect(afterRegister).toMatchObject({
      changes: {
        goneUsers: [],
        users: [{ user: "ver-a", host: "127.0.0.1", port: 4321 }],
        files: [
          { user: "ver-a", path: "/a1" },
          { user: "ver-a", path: "/a2" },
        ],
      },
    });
    expect(afterRegister.version).not.toBe(copy.version);

    await peer.ok("unregister", { user: "ver-a", paths: ["/a1"] });
    await peer.ok("hello", { port: 4322, protocol: 2 });
    const later = await sync(watcher, afterRegister.version);
    expect(later).toMatchObject({ changes: { goneFiles: [{ user: "ver-a", path: "/a1" }], users: [{ user: "ver-a", port: 4322 }] } });

    // Since the first version, one change set carries it all, folded.
    const all = await sync(watcher, copy.version);
    if (!("changes" in all)) throw new Error("expected changes");
    copy.catalog.apply(all.changes);
    expect(copy.catalog.fileList()).toEqual((await watcher.ok("list-files", {})).files);
    expect(copy.catalog.userList()).toEqual((await watcher.ok("list-users", {})).users);
    await peer.close();
    await watcher.close();
  });

  it("does not move when a peer offers its files again exactly as they were", async () => {
    const peer = await TrackerSocket.probed();
    await peer.ok("register", { user: "ver-same", files: [file("/s", 1, "a")] });
    const before = await versionOf(peer);
    await peer.ok("register", { user: "ver-same", files: [file("/s", 1, "a")] });
    expect(await sync(peer, before)).toEqual({ version: before, unchanged: true });
    await peer.close();
  });

  it("survive an eviction with sockets open: the change log is read back from storage", async () => {
    const watcher = await TrackerSocket.probed();
    const peer = await TrackerSocket.probed();
    const before = await versionOf(watcher);
    await peer.ok("register", { user: "ver-evict", files: [file("/e1")] });
    const registered = await versionOf(watcher);

    await evictDurableObject(trackerStub());

    expect(await sync(watcher, registered)).toEqual({ version: registered, unchanged: true });
    expect(await sync(watcher, before)).toMatchObject({ version: registered, changes: { files: [{ user: "ver-evict", path: "/e1" }] } });
    await peer.ok("register", { user: "ver-evict", files: [file("/e2")] });
    const after = await sync(watcher, registered);
    expect(after).toMatchObject({ changes: { files: [{ user: "ver-evict", path: "/e2" }] } });
    expect(parseVersion(after.version).epoch).toBe(parseVersion(registered).epoch);
    await peer.close();
    await watcher.close();
  });

  it("start a new epoch after a restart, so a version from before gets a snapshot", async () => {
    const peer = await TrackerSocket.probed();
    await peer.ok("register", { user: "ver-restart", files: [file("/r")] });
    const before = await versionOf(peer);

    // A restart or deploy: memory and sockets gone, storage kept.
    await evictDurableObject(trackerStub(), { webSockets: "close" });

    const back = await TrackerSocket.probed();
    const answer = await sync(back, before);
    expect(answer).toMatchObject({ snapshot: { files: expect.any(Array) } });
    expect(parseVersion(answer.version).epoch).not.toBe(parseVersion(before).epoch);
    if (!("snapshot" in answer)) throw new Error("expected a snapshot");
    expect(answer.snapshot.users.map((u) => u.user)).not.toContain("ver-restart");
    await back.close();
  });

  it("answer a version too old for the change log, or one ahead of it, with a snapshot", async () => {
    const watcher = await TrackerSocket.probed();
    const first = await TrackerSocket.probed();
    const before = await versionOf(watcher);
    await first.ok("register", { user: "ver-bulk-0", files: [] });
    // The version just before the change the log is about to drop.
    const claimed = await versionOf(watcher);
    // Changes of about 600 KB each, one user apiece (each within its path quota): together
    // past the log's 4 MiB, so the first ones are dropped.
    const bulks = [first];
    let middle = claimed;
    for (let i = 0; i < 8; i++) {
      const socket = i === 0 ? first : await TrackerSocket.probed();
      if (i > 0) bulks.push(socket);
      middle = await versionOf(watcher);
      await registerBulk(socket, `ver-bulk-${i}`);
    }

    expect(await sync(watcher, before)).toMatchObject({ snapshot: expect.any(Object) });
    expect(await sync(watcher, claimed)).toMatchObject({ snapshot: expect.any(Object) });
    const recent = await sync(watcher, middle);
    if (!("changes" in recent)) throw new Error("expected changes");
    expect(recent.changes.files).toHaveLength(1000);
    expect(recent.changes.files.every((f) => f.user === "ver-bulk-7")).toBe(true);

    const { epoch, seq } = parseVersion(recent.version);
    expect(await sync(watcher, `${epoch}-${seq + 5}`)).toMatchObject({ version: recent.version, snapshot: expect.any(Object) });
    for (const socket of bulks) await socket.close();
    await watcher.close();
  });

  it("refuse a malformed since with invalid-version and change nothing", async () => {
    const peer = await TrackerSocket.probed();
    await peer.ok("register", { user: "ver-bad", files: [file("/b")] });
    const before = await versionOf(peer);
    for (const since of ["nope", "abc-01", 12, ""]) {
      expect(await peer.raw(JSON.stringify({ id: 9, type: "sync", since }))).toMatchObject({ ok: false, error: { code: "invalid-version" } });
    }
    expect(await sync(peer, before)).toEqual({ version: before, unchanged: true });
    expect(peer.closed).toBe(false);
    await peer.close();
  });
});

describe("notices", () => {
  it("tell every socket that asked for sync, and only those, that the version moved", async () => {
    const watcher = await TrackerSocket.probed();
    const bystander = await TrackerSocket.probed();
    await sync(watcher);
    const peer = await TrackerSocket.probed();
    await peer.ok("register", { user: "notice-a", files: [file("/n")] });
    const version = await versionOf(peer);

    await watcher.noticeOf(version);
    // The notice went out to every watcher in one pass: had the bystander been one, its notice would come before this reply.
    expect(await bystander.ok("list-users", {})).toMatchObject({ users: expect.any(Array) });
    expect(bystander.notices).toEqual([]);
    await Promise.all([watcher.close(), bystander.close(), peer.close()]);
  });

  it("still reach watchers, and only them, after the object woke from an eviction", async () => {
    const watcher = await TrackerSocket.probed();
    const bystander = await TrackerSocket.probed();
    await sync(watcher);
    // Whom to tell is read back from the sockets' attachments.
    await evictDurableObject(trackerStub());
    const peer = await TrackerSocket.probed();
    await peer.ok("register", { user: "notice-evicted", files: [file("/n")] });
    const version = await versionOf(peer);

    await watcher.noticeOf(version);
    expect(await bystander.ok("list-users", {})).toMatchObject({ users: expect.any(Array) });
    expect(bystander.notices).toEqual([]);
    await Promise.all([watcher.close(), bystander.close(), peer.close()]);
  });

  it("carry the change set since the previous notice, which brings a copy that was current up to date without asking", async () => {
    const watcher = await TrackerSocket.probed();
    const copy = await update(watcher, null);
    const peer = await TrackerSocket.probed(4400);
    await peer.ok("register", { user: "notice-inline", files: [file("/i1"), file("/i2")] });
    const version = await versionOf(peer);
    await watcher.noticeOf(version);

    const notice = JSON.parse(watcher.noticeTexts.at(-1)!) as { v: string; from: string; changes: ChangeSet };
    expect(notice).toMatchObject({ v: version, changes: { users: [{ user: "notice-inline", port: 4400 }] } });
    // From the previous notice: the copy's version, or (changes still untold when it was made) one before it.
    expect(parseVersion(notice.from).epoch).toBe(parseVersion(copy.version).epoch);
    expect(parseVersion(notice.from).seq).toBeLessThanOrEqual(parseVersion(copy.version).seq);
    copy.catalog.apply(notice.changes);
    expect(copy.catalog.fileList()).toEqual((await watcher.ok("list-files", {})).files);
    expect(copy.catalog.userList()).toEqual((await watcher.ok("list-users", {})).users);
    await Promise.all([watcher.close(), peer.close()]);
  });

  it("leave a large change set to pulls: the notice then says only the version", async () => {
    const watcher = await TrackerSocket.probed();
    await sync(watcher);
    const peer = await TrackerSocket.probed();
    await registerBulk(peer, "notice-large");
    const version = await versionOf(peer);
    await watcher.noticeOf(version);
    expect(JSON.parse(watcher.noticeTexts.at(-1)!)).toEqual({ type: "changed", v: version });
    expect(await sync(watcher, watcher.notices.length > 1 ? watcher.notices.at(-2)! : undefined)).toMatchObject({ version });
    await Promise.all([watcher.close(), peer.close()]);
  });

  it("are coalesced: a burst of 200 registrations is a few notices, the last with the final version", async () => {
    const watcher = await TrackerSocket.probed();
    await sync(watcher);
    const peer = await TrackerSocket.probed();
    for (let i = 0; i < 200; i++) await peer.ok("register", { user: "notice-burst", files: [file(`/burst/${i}`)] });
    const final = await versionOf(peer);

    await watcher.noticeOf(final);
    expect(watcher.notices.length).toBeLessThan(20);
    await Promise.all([watcher.close(), peer.close()]);
  });
});

describe("pings", () => {
  const autoAnswered = (socket: TrackerSocket) =>
    runInDurableObject(trackerStub(), (_instance, state) => {
      const mine = state.getWebSockets().filter((ws) => (ws.deserializeAttachment() as { conn: string }).conn === socket.conn);
      return mine.some((ws) => state.getWebSocketAutoResponseTimestamp(ws) !== null);
    });

  /** Registers under `user` from a socket that watches, then waits for the notice that tells of it: the version pings are now armed with. */
  async function toldAfterRegister(user: string): Promise<{ peer: TrackerSocket; told: string }> {
    const peer = await TrackerSocket.probed();
    await sync(peer);
    await peer.ok("register", { user, files: [file("/p")] });
    const { epoch, seq } = parseVersion(await versionOf(peer));
    await waitUntil(() => peer.notices.some((v) => parseVersion(v).epoch === epoch && parseVersion(v).seq >= seq), "a notice of the register");
    peer.conn = await connOf(user);
    return { peer, told: peer.notices.at(-1)! };
  }

  it("with the version the last notice told are answered by the runtime; any other ping by the object, with that version", async () => {
    const { peer, told } = await toldAfterRegister("ping-a");

    peer.ws.send(PING);
    expect(await peer.next()).toBe(PONG);
    peer.ws.send(pingFor(`${parseVersion(told).epoch}-0`));
    expect(await peer.next()).toBe(pongFor(told));
    expect(await autoAnswered(peer)).toBe(false);

    peer.ws.send(pingFor(told));
    expect(await peer.next()).toBe(pongFor(told));
    expect(await autoAnswered(peer)).toBe(true);
    await peer.close();
  });

  it("with the told version never wake an evicted object; a stale one wakes it once and learns the version", async () => {
    const { peer, told } = await toldAfterRegister("ping-b");
    await evictDurableObject(trackerStub());

    peer.ws.send(pingFor(told));
    expect(await peer.next()).toBe(pongFor(told));
    // Nothing ran in the object, so there is nothing to evict.
    await expect(evictDurableObject(trackerStub())).rejects.toThrow(/not currently running/);

    peer.ws.send(pingFor(`${parseVersion(told).epoch}-0`));
    expect(await peer.next()).toBe(pongFor(told));
    await evictDurableObject(trackerStub());
    await peer.close();
  });

  it("are answered with the new epoch's version by the runtime after a restart, before anything changed", async () => {
    const peer = await TrackerSocket.probed();
    await peer.ok("list-users", {});
    await evictDurableObject(trackerStub(), { webSockets: "close" });
    // A second restart, with nobody left to drop as a ghost: nothing changes as it starts.
    await exports.default.fetch("http://tracker.test/api/users");
    await evictDurableObject(trackerStub(), { webSockets: "close" });

    const back = await TrackerSocket.probed();
    const now = await versionOf(back);
    expect(now).toMatch(/-0$/);
    await runInDurableObject(trackerStub(), (_instance, state) => {
      for (const ws of state.getWebSockets()) expect(state.getWebSocketAutoResponseTimestamp(ws)).toBeNull();
    });
    back.ws.send(pingFor(now));
    expect(await back.next()).toBe(pongFor(now));
    await runInDurableObject(trackerStub(), (_instance, state) => {
      expect(state.getWebSockets().some((ws) => state.getWebSocketAutoResponseTimestamp(ws) !== null)).toBe(true);
    });
    await back.close();
  });
});

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The connection id behind a user, read inside the object. */
function connOf(user: string): Promise<string> {
  return runInDurableObject(trackerStub(), (_instance, state) => {
    for (const ws of state.getWebSockets()) {
      const connection = ws.deserializeAttachment() as { conn: string; user: string | null };
      if (connection.user === user) return connection.conn;
    }
    throw new Error(`no socket holds ${user}`);
  });
}
