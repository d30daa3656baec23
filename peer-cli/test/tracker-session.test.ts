/**
 * The peer's tracker session at the moments the real tracker cannot be held
 * at: a stop in the middle of the handshake, and a download that finishes
 * while a reconnect's handshake is still running.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { hashFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { PieceMaps } from "../src/mini-server/piece-maps.ts";
import { Announcer } from "../src/peer/announcer.ts";
import { FileIndex } from "../src/peer/file-index.ts";
import { MapRefresh } from "../src/peer/map-refresh.ts";
import { UserMap } from "../src/peer/user-map.ts";
import { TrackerClient } from "../src/tracker/tracker-client.ts";
import { eventually, useSocketFixture } from "./helpers.ts";
import { ScriptedTracker } from "./scripted-tracker.ts";

const fixture = useSocketFixture("p2p-session-");
const stops: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

async function scripted(): Promise<ScriptedTracker> {
  const tracker = await ScriptedTracker.start();
  stops.push(() => tracker.close());
  return tracker;
}

describe("TrackerClient.stop()", () => {
  it("during the handshake leaves no live socket: the handshake goes no further and the client never reports connected", async () => {
    const tracker = await scripted();
    let openGate: () => void = () => {};
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let helloAnswered = false;
    const client = new TrackerClient({
      url: tracker.url,
      log: () => {},
      onConnected: async () => {
        await client.handshake("hello", { port: 4000 });
        helloAnswered = true;
        // Work between requests (re-hashing files, writing the maps) while the peer is told to stop.
        await gate;
      },
    });
    const started = client.start().catch((error: unknown) => error);
    const hello = await tracker.next((r) => r.type === "hello", "hello");
    await eventually(() => helloAnswered, "hello to be answered");

    await client.stop();
    openGate();

    expect(await started).toBeInstanceOf(Error);
    await eventually(() => hello.socket.readyState === hello.socket.CLOSED, "the client's socket to close");
    expect(client.connected).toBe(false);
    expect(tracker.received.map((r) => r.type)).toEqual(["hello"]);
  });

  it("while still connecting never lets the socket open later and say hello", async () => {
    const tracker = await scripted();
    const client = new TrackerClient({ url: tracker.url, log: () => {}, onConnected: async () => void (await client.handshake("hello", { port: 4000 })) });
    const started = client.start().catch((error: unknown) => error);
    await client.stop();
    expect(await started).toBeInstanceOf(Error);
    // Give a socket that slipped through every chance to speak: wait for the server to see it close, if it ever opened.
    await eventually(() => tracker.sockets.every((s) => s.readyState === s.CLOSED), "every socket the server saw to be closed");
    expect(tracker.received).toEqual([]);
    expect(client.connected).toBe(false);
  });
});

describe("a download that finishes during a reconnect's handshake", () => {
  it("is announced as soon as the handshake is done, not at the next reconnect", async () => {
    const tracker = await scripted();
    const path = fixture.tempPath("downloaded.bin");
    await writeFile(path, "bytes that arrived while the handshake was running");
    const { fingerprint, leaves } = await hashFile(path);
    const file = { path, ...fingerprint };

    let announcer: Announcer | undefined;
    const client = new TrackerClient({
      url: tracker.url,
      log: () => {},
      onConnected: async () => {
        await client.handshake("hello", { port: 4000 });
        await announcer?.reclaim();
      },
      onReady: () => void announcer?.flush(),
    });
    announcer = new Announcer({ files: new OfferedFiles(), pieceMaps: new PieceMaps(), tracker: client, stateFile: fixture.tempPath("state.json"), log: () => {}, user: "Late" });
    stops.push(() => client.stop());

    tracker.hold("register");
    const started = client.start();
    const reclaim = await tracker.next((r) => r.type === "register", "the reclaiming register");
    expect(reclaim.body.files).toEqual([]);

    // The handshake is still waiting for the tracker when the download completes.
    const outcome = await announcer.offerDownloaded(file, leaves);
    expect(outcome.registeredAs).toBeNull();
    expect(outcome.registerError).toMatch(/registered when the tracker is back/);

    tracker.release("register");
    tracker.answer(reclaim);
    await started;
    const announced = await tracker.next(
      (r) => r.type === "register" && JSON.stringify(r.body.files).includes(path),
      "the downloaded file to be registered",
    );
    expect(announced.body).toMatchObject({ user: "Late", files: [{ path, size: file.size, root: file.root }] });
  });
});

describe("the periodic refresh", () => {
  it("never starts a pull while one is still waiting for the tracker", async () => {
    const tracker = await scripted();
    const client = new TrackerClient({ url: tracker.url, log: () => {}, onConnected: async () => void (await client.handshake("hello", { port: 4000 })) });
    stops.push(() => client.stop());
    await client.start();
    const home = fixture.tempPath("maps");
    await mkdir(home);
    const refresh = new MapRefresh({
      tracker: client,
      userMap: new UserMap(join(home, "users.txt")),
      fileIndex: new FileIndex(join(home, "files.json")),
      refreshSeconds: 0.05,
      log: () => {},
    });
    stops.push(() => refresh.stop());
    // A tracker slow to answer: ticks keep coming every 50 ms meanwhile.
    tracker.hold("sync");
    refresh.start();
    const first = await tracker.next((r) => r.type === "sync", "the first pull");
    const deadline = Date.now() + 1000;
    while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(tracker.received.filter((r) => r.type === "sync")).toHaveLength(1);

    tracker.release("sync");
    tracker.answer(first);
    await eventually(async () => (await readFile(join(home, "users.txt"), "utf8").catch(() => null)) === "", "users.txt to be written");
  });
});

describe("reachability reports pushed by the tracker", () => {
  it("reach the peer when well-formed; a malformed one is logged and ignored, and the connection goes on", async () => {
    const tracker = await scripted();
    const reports: unknown[] = [];
    const logs: string[] = [];
    const client = new TrackerClient({
      url: tracker.url,
      log: (line) => logs.push(line),
      onConnected: async () => {},
      onReachability: (report) => reports.push(report),
    });
    stops.push(() => client.stop());
    await client.start();
    const socket = tracker.sockets[0]!;
    socket.send(JSON.stringify({ type: "reachability", reachable: "maybe", host: "127.0.0.1", port: 4000, reason: "x" }));
    socket.send(JSON.stringify({ type: "reachability", reachable: false, host: "127.0.0.1", port: 4000, reason: "no answer within 3 s" }));
    await eventually(() => reports.length === 1, "the well-formed report");
    expect(reports).toEqual([{ type: "reachability", reachable: false, host: "127.0.0.1", port: 4000, reason: "no answer within 3 s" }]);
    expect(logs.some((line) => line.startsWith("ignored a malformed reachability report from the tracker"))).toBe(true);
    expect((await client.request("list-users", {})).users).toBeDefined();
  });
});
