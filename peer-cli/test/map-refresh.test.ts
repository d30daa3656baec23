/**
 * The peer's maps kept from the tracker's versions, against a tracker whose
 * answers the test writes: notices and newer pongs make a pull, notices
 * during a pull make one more (not one each), pings carry the version, and
 * the safety net asks nothing while the peer is up to date.
 */
import { stat, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ChangeSet } from "@p2p/shared";
import { afterEach, describe, expect, it } from "vitest";
import { FileIndex } from "../src/peer/file-index.ts";
import { MapRefresh } from "../src/peer/map-refresh.ts";
import { UserMap } from "../src/peer/user-map.ts";
import { TrackerClient } from "../src/tracker/tracker-client.ts";
import { eventually, useSocketFixture } from "./helpers.ts";
import { ScriptedTracker } from "./scripted-tracker.ts";

const fixture = useSocketFixture("p2p-maps-");
const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

const none: ChangeSet = { goneUsers: [], goneFiles: [], users: [], files: [] };
const root = "ab".repeat(32);

/** A client and its maps wired as start-peer.ts wires them; resolves once the handshake's pull is done. */
async function peerOn(tracker: ScriptedTracker, options: { refreshSeconds?: number; pingIntervalMs?: number } = {}) {
  const home = fixture.tempPath("home");
  await mkdir(home);
  const usersFile = join(home, "users.txt");
  const filesFile = join(home, "files.json");
  let maps: MapRefresh | undefined;
  const client = new TrackerClient({
    url: tracker.url,
    log: () => {},
    onConnected: async () => {
      await client.handshake("hello", { port: 4000 });
      await maps!.duringHandshake();
    },
    onReady: () => maps!.caughtUp(),
    pingVersion: () => maps!.version,
    onVersion: (version, notice) => maps!.noticed(version, notice),
    ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
  });
  maps = new MapRefresh({ tracker: client, userMap: new UserMap(usersFile), fileIndex: new FileIndex(filesFile), refreshSeconds: options.refreshSeconds ?? 3600, log: () => {} });
  stops.push(() => client.stop(), () => maps!.stop());
  await client.start();
  maps.start();
  return { maps, usersFile, filesFile };
}

const syncs = (tracker: ScriptedTracker) => tracker.received.filter((r) => r.type === "sync");

describe("the maps", () => {
  it("pull the changes when told of a newer version, and notices that come during a pull make one more pull, not one each", async () => {
    const tracker = await ScriptedTracker.start();
    stops.push(() => tracker.close());
    // No ping within the test: only the notices can make these pulls.
    const { usersFile, filesFile } = await peerOn(tracker, { pingIntervalMs: 600_000 });
    expect(syncs(tracker)).toHaveLength(1);

    tracker.hold("sync");
    tracker.notify("t-2");
    const first = await tracker.next((r) => r.type === "sync" && r.body.since === "t-1", "the pull the notice asks for");
    for (const version of ["t-3", "t-4", "t-5"]) tracker.notify(version);
    tracker.reply(first, { version: "t-2", changes: { ...none, users: [{ user: "Alice", host: "127.0.0.1", port: 4001 }] } });
    const second = await tracker.next((r) => r.type === "sync" && r.body.since === "t-2", "one more pull for the notices during the first");
    tracker.reply(second, {
      version: "t-5",
      changes: { ...none, users: [{ user: "Bob", host: "127.0.0.1", port: 4002 }], files: [{ user: "Alice", path: "/a.txt", size: 3, root }] },
    });

    await eventually(async () => (await readFile(usersFile, "utf8")) === "Alice – 127.0.0.1:4001\nBob – 127.0.0.1:4002\n", "users.txt to list Alice and Bob");
    await eventually(async () => (await readFile(filesFile, "utf8")).includes("/a.txt"), "files.json to list Alice's file");
    expect(syncs(tracker)).toHaveLength(3);
  });

  it("apply a notice's change set without asking, and pull when it starts after what they know", async () => {
    const tracker = await ScriptedTracker.start();
    stops.push(() => tracker.close());
    const { usersFile, maps } = await peerOn(tracker, { pingIntervalMs: 600_000 });
    const alice = { user: "Alice", host: "127.0.0.1", port: 4001, reachable: null };

    tracker.notify("t-3", { from: "t-1", changes: { ...none, users: [alice] } });
    await eventually(async () => (await readFile(usersFile, "utf8")) === "Alice – 127.0.0.1:4001\n", "users.txt to list Alice");
    expect(maps.version).toBe("t-3");
    expect(syncs(tracker)).toHaveLength(1);

    // Changes from t-5 cannot be applied to a copy at t-3: what happened at t-4 would be missing.
    tracker.hold("sync");
    tracker.notify("t-6", { from: "t-5", changes: { ...none, users: [{ ...alice, user: "Bob" }] } });
    const pull = await tracker.next((r) => r.type === "sync" && r.body.since === "t-3", "a pull instead");
    tracker.reply(pull, { version: "t-6", changes: { ...none, goneUsers: ["Alice"], users: [{ ...alice, user: "Carol" }] } });
    await eventually(async () => (await readFile(usersFile, "utf8")) === "Carol – 127.0.0.1:4001\n", "users.txt to follow the pull");
  });

  it("read a snapshot in pages, then settle it with the changes since its version", async () => {
    const tracker = await ScriptedTracker.start();
    stops.push(() => tracker.close());
    for (const type of ["sync", "list-users", "list-files"]) tracker.hold(type);
    const started = peerOn(tracker);
    const alice = { user: "Alice", host: "127.0.0.1", port: 4001, reachable: null };
    const bob = { user: "Bob", host: "127.0.0.1", port: 4002 };
    const file = (user: string, path: string) => ({ user, path, size: 1, root });
    tracker.reply(await tracker.next((r) => r.type === "sync", "the snapshot"), {
      version: "t-1",
      snapshot: { users: [alice], usersNext: "u1", files: [file("Alice", "/1")], filesNext: "f1" },
    });
    tracker.reply(await tracker.next((r) => r.type === "list-users" && r.body.cursor === "u1", "the next users page"), { users: [bob], next: null, version: "t-1" });
    tracker.reply(await tracker.next((r) => r.type === "list-files" && r.body.cursor === "f1", "the next files page"), { files: [file("Bob", "/2")], next: null, version: "t-2" });
    tracker.reply(await tracker.next((r) => r.type === "sync" && r.body.since === "t-1", "the changes since the snapshot"), {
      version: "t-2",
      changes: { ...none, goneFiles: [{ user: "Alice", path: "/1" }] },
    });
    const { usersFile, filesFile, maps } = await started;

    expect(await readFile(usersFile, "utf8")).toBe("Alice – 127.0.0.1:4001\nBob – 127.0.0.1:4002\n");
    // files.json is written at its own pace (cached-list.ts), a moment after the index in memory.
    await eventually(async () => (await readFile(filesFile, "utf8").catch(() => "")) === JSON.stringify([file("Bob", "/2")]), "files.json to hold Bob's file only");
    expect(maps.version).toBe("t-2");
  });

  it("write a snapshot that came in even when settling it fails, and nothing is lost for the next update", async () => {
    const tracker = await ScriptedTracker.start();
    stops.push(() => tracker.close());
    const { maps, usersFile, filesFile } = await peerOn(tracker);
    tracker.hold("sync");
    tracker.hold("list-files");
    const refreshing = maps.refreshNow();
    const alice = { user: "Alice", host: "127.0.0.1", port: 4001, reachable: null };
    const file = (path: string) => ({ user: "Alice", path, size: 1, root });
    tracker.reply(await tracker.next((r) => r.type === "sync" && r.body.since === "t-1", "the pull"), {
      version: "e2-5",
      snapshot: { users: [alice], usersNext: null, files: [file("/1")], filesNext: "f1" },
    });
    tracker.reply(await tracker.next((r) => r.type === "list-files", "the next files page"), { files: [file("/2")], next: null, version: "e2-5" });
    const settle = await tracker.next((r) => r.type === "sync" && r.body.since === "e2-5", "the settling pull");
    settle.socket.send(JSON.stringify({ id: settle.id, ok: false, error: { code: "internal", message: "the tracker failed" } }));
    await refreshing;

    expect(maps.version).toBe("e2-5");
    expect(await readFile(usersFile, "utf8")).toBe("Alice – 127.0.0.1:4001\n");
    await eventually(async () => (await readFile(filesFile, "utf8").catch(() => "")) === JSON.stringify([file("/1"), file("/2")]), "files.json to hold the snapshot");
  });

  it("send their version with each ping, and pull when a pong tells of a newer one", async () => {
    const tracker = await ScriptedTracker.start();
    stops.push(() => tracker.close());
    await peerOn(tracker, { pingIntervalMs: 50 });
    await eventually(() => tracker.pings.includes('{"type":"ping","v":"t-1"}'), "a ping with the version the maps are at");

    // No notice this time: only the next pong says the version moved.
    tracker.version = "t-7";
    await tracker.next((r) => r.type === "sync" && r.body.since === "t-1", "a pull after the pong");
    await eventually(() => tracker.pings.includes('{"type":"ping","v":"t-7"}'), "pings with the new version");
  });

  it("ask the tracker nothing on the safety net's ticks while up to date, and rewrite users.txt on each", async () => {
    const tracker = await ScriptedTracker.start();
    stops.push(() => tracker.close());
    const { usersFile } = await peerOn(tracker, { refreshSeconds: 0.05 });
    const rewrites = new Set<string>();
    // Each atomic rewrite is a new file written anew. Inode numbers alone are
    // reused once the replaced file is freed, so count inode and write time.
    const rewrite = async () => {
      const { ino, mtimeNs } = await stat(usersFile, { bigint: true });
      return `${ino}/${mtimeNs}`;
    };
    await eventually(async () => rewrites.add(await rewrite()).size >= 4, "users.txt to be rewritten by three ticks");
    expect(syncs(tracker)).toHaveLength(1);
  });
});
