import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, eventually, file } from "./tracker-socket.ts";

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));
const usersOf = async () => (await api<{ user: string }[]>("/api/users")).map((u) => u.user);
const filesOf = async (user: string) =>
  (await api<{ user: string; path: string }[]>("/api/files")).filter((f) => f.user === user).map((f) => f.path);
/** What the object's SQLite storage holds, read inside the object: what a restart starts from. */
const stored = () =>
  runInDurableObject(trackerStub(), (_instance, state) => ({
    users: state.storage.sql.exec<{ user: string }>("SELECT user FROM users ORDER BY user").toArray().map((r) => r.user),
    files: state.storage.sql.exec<{ user: string; path: string }>("SELECT user, path FROM files ORDER BY user, path").toArray(),
  }));

describe("connections", () => {
  it("refuses a name another live connection holds", async () => {
    const a = await TrackerSocket.hello();
    const b = await TrackerSocket.hello();
    await a.ok("register", { user: "clash", files: [file("/a")] });
    expect(await b.request("register", { user: "clash", files: [file("/b")] })).toMatchObject({
      ok: false,
      error: { code: "name-taken" },
    });
    expect(await filesOf("clash")).toEqual(["/a"]);
    await a.close();
    await b.close();
  });

  it("drops a user and its files when its socket closes, keeping the others", async () => {
    const leaving = await TrackerSocket.hello();
    const staying = await TrackerSocket.hello();
    await leaving.ok("register", { user: "leaving", files: [file("/l1"), file("/l2")] });
    await staying.ok("register", { user: "staying", files: [file("/s1")] });

    await leaving.close();
    await eventually(async () => (await filesOf("leaving")).length === 0, "the closed peer's files to vanish");

    expect(await usersOf()).not.toContain("leaving");
    const listed = (await staying.ok("list-files", {})).files.map((f: any) => f.user);
    expect(listed).not.toContain("leaving");
    expect(await filesOf("staying")).toEqual(["/s1"]);
    await staying.close();
  });

  it("frees a name once its holder disconnects", async () => {
    const first = await TrackerSocket.hello();
    await first.ok("register", { user: "reused", files: [file("/old")] });
    await first.close();
    await eventually(async () => !(await usersOf()).includes("reused"), "the name to be released");

    const second = await TrackerSocket.hello(7777);
    await second.ok("register", { user: "reused", files: [file("/new")] });
    expect(await filesOf("reused")).toEqual(["/new"]);
    await second.close();
  });
});

describe("hibernation", () => {
  it("keeps users, files and names across an eviction while sockets stay open", async () => {
    const a = await TrackerSocket.hello(8001);
    const b = await TrackerSocket.hello(8002);
    await a.ok("register", { user: "sleepy-a", files: [file("/a1"), file("/a2")] });
    await b.ok("register", { user: "sleepy-b", files: [file("/b1")] });

    await evictDurableObject(trackerStub());

    expect(await filesOf("sleepy-a")).toEqual(["/a1", "/a2"]);
    expect(await filesOf("sleepy-b")).toEqual(["/b1"]);
    // The connection still knows its name and its port after waking up...
    expect(await a.ok("register", { user: "sleepy-a", files: [file("/a3")] })).toMatchObject({ total: 3 });
    expect(await a.request("register", { user: "other-name", files: [file("/x")] })).toMatchObject({
      error: { code: "name-mismatch" },
    });
    // ...others still cannot take it...
    expect(await b.request("register", { user: "sleepy-a", files: [file("/x")] })).toMatchObject({
      error: { code: "name-mismatch" },
    });
    const c = await TrackerSocket.hello();
    expect(await c.request("register", { user: "sleepy-a", files: [file("/x")] })).toMatchObject({
      error: { code: "name-taken" },
    });
    // ...and a close after waking still removes the user.
    await a.close();
    await eventually(async () => (await filesOf("sleepy-a")).length === 0, "sleepy-a to vanish after wake-up");
    expect(await usersOf()).toContain("sleepy-b");
    await b.close();
    await c.close();
  });

  it("wakes for its heartbeat sweep without reading the catalog, and reads it back whole when asked", async () => {
    const peer = await TrackerSocket.hello();
    await peer.ok("register", { user: "sleeper", files: [file("/z1"), file("/z2")] });
    await eventually(async () => (await stored()).files.filter((f) => f.user === "sleeper").length === 2, "sleeper's files to be stored");
    await evictDurableObject(trackerStub());
    expect(await runDurableObjectAlarm(trackerStub())).toBe(true);
    // The sweep read the sockets' attachments only: no users and files in memory (236 ms at 50,000 entries).
    expect(await runInDurableObject(trackerStub(), (instance) => (instance as unknown as { openedStore?: unknown }).openedStore)).toBeUndefined();
    expect(await filesOf("sleeper")).toEqual(["/z1", "/z2"]);
    await peer.close();
  });

  it("leaves no ghosts when the object restarts without its sockets", async () => {
    const a = await TrackerSocket.hello();
    await a.ok("register", { user: "ghost", files: [file("/g")] });
    expect(await usersOf()).toContain("ghost");
    // Writes are batched: wait until the ghost is really in storage, or the
    // restart below would find nothing to drop and prove nothing.
    await eventually(async () => (await stored()).users.includes("ghost"), "ghost's registration to be stored");
    expect((await stored()).files).toContainEqual({ user: "ghost", path: "/g" });

    // A restart or deploy: memory gone, sockets gone, storage kept.
    await evictDurableObject(trackerStub(), { webSockets: "close" });

    // The first thing the restarted object does: storage is cleaned at start,
    // not only the object's memory, and not only when a later batch is stored.
    const restarted = await stored();
    expect(restarted.users).not.toContain("ghost");
    expect(restarted.files.filter((f) => f.user === "ghost")).toEqual([]);
    expect(await usersOf()).not.toContain("ghost");
    expect(await filesOf("ghost")).toEqual([]);
    // The name is free again.
    const b = await TrackerSocket.hello();
    await b.ok("register", { user: "ghost", files: [file("/new")] });
    expect(await filesOf("ghost")).toEqual(["/new"]);
    await b.close();
  });
});
