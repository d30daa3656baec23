/**
 * The seed scenario on a sharded tracker (`wrangler dev` with
 * TRACKER_SHARDS=4, SCALING.md) with real peer processes: users on
 * different shards see each other's files and download from each other, a
 * peer that names itself only when it registers moves to its name's shard,
 * a name belongs to one live connection, a stopped peer's files leave every
 * map at once, and a restarted tracker leaves no ghost. Peers refresh an
 * hour apart: whatever reaches them came by the hub's notices.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { shardOfName } from "@p2p/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

const HOUR = 3600;
const SHARDS = { TRACKER_SHARDS: "4" };

let tracker: Tracker;
let dir: string;
let state: string;
const peers: PeerProcess[] = [];
const start = async (name: string, ...args: string[]) => {
  const peer = await startPeer(name, tracker.url, dir, { refresh: HOUR, args });
  peers.push(peer);
  return peer;
};
const usersFile = (peer: PeerProcess) => readFile(join(peer.home, "users.txt"), "utf8").catch(() => "");
const listFiles = async (peer: PeerProcess) => {
  const result = await peer.run("list-files");
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim().split("\n").filter(Boolean);
};
/** Which of the four shards a name lives on, as the tracker places it. */
const shardOf = (name: string) => shardOfName(name, 4);

let alice: PeerProcess;
let bob: PeerProcess;
let eve: PeerProcess;
let movie: string;
let song: string;

beforeAll(async () => {
  dir = await makeTempDir("p2p-sharded-e2e-");
  state = join(dir, "tracker-state");
  tracker = await startTracker({ vars: SHARDS, stateDir: state });
  await mkdir(join(dir, "files"));
  movie = join(dir, "files", "movie.bin");
  song = join(dir, "files", "song.bin");
  await writeFile(movie, randomBytes(3 * 1024 * 1024 + 7));
  await writeFile(song, randomBytes(200_000));
}, 120_000);

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("a tracker of four shards", () => {
  it("places the scenario's users on different shards", () => {
    expect(new Set(["Alice", "Bob", "Eve"].map(shardOf)).size).toBe(3);
  });

  it("lists files offered on every shard, to peers on every shard", async () => {
    [alice, bob, eve] = await Promise.all([start("alice", "--user", "Alice"), start("bob"), start("eve", "--user", "Eve")]);
    expect((await alice.run("register", "Alice", movie)).code).toBe(0);
    // Bob named no user at start: its connection moves to Bob's shard when it registers.
    const registered = await bob.run("register", "Bob", song);
    expect(registered.code, registered.stderr).toBe(0);

    for (const peer of [alice, bob, eve]) expect(await listFiles(peer)).toEqual([`Alice : ${movie}`, `Bob : ${song}`]);
    for (const peer of [alice, bob, eve]) {
      await waitFor(`${peer.name}'s users.txt to list Alice and Bob`, async () => /^Alice – 127\.0\.0\.1:\d+$/m.test(await usersFile(peer)) && /^Bob – /m.test(await usersFile(peer)));
    }
  });

  it("lets Eve download Alice's file across shards, byte for byte, and lists Eve as a holder everywhere", async () => {
    const save = join(dir, "eve-files", "movie.bin");
    const downloaded = await eve.run("download", "Alice", movie, save);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(Buffer.compare(await readFile(save), await readFile(movie))).toBe(0);
    expect(await listFiles(bob)).toContain(`Eve : ${save}`);
    const api = (await (await fetch(`${tracker.http}/api/files`)).json()) as { user: string }[];
    expect(api.map((f) => f.user)).toEqual(["Alice", "Bob", "Eve"]);
  });

  it("keeps a name for its one live connection", async () => {
    const impostor = await startPeer("impostor", tracker.url, dir, { refresh: HOUR }).then((peer) => (peers.push(peer), peer));
    const refused = await impostor.run("register", "Alice", song);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/name-taken|in use/);
    expect((await listFiles(eve)).filter((line) => line.startsWith("Alice : "))).toEqual([`Alice : ${movie}`]);
  });

  it("drops a stopped peer's files from every peer's maps at once", async () => {
    await alice.kill();
    for (const peer of [bob, eve]) {
      await waitFor(`Alice to leave ${peer.name}'s users.txt`, async () => !(await usersFile(peer)).includes("Alice –"), 10_000);
      expect((await listFiles(peer)).some((line) => line.startsWith("Alice : "))).toBe(false);
    }
  });

  it("leaves no ghost after the tracker restarts; peers come back by themselves", async () => {
    await tracker.stop();
    tracker = await startTracker({ vars: SHARDS, stateDir: state, port: tracker.port });
    await waitFor(
      "Bob and Eve back, and nobody else",
      async () => {
        const users = (await (await fetch(`${tracker.http}/api/users`)).json()) as { user: string }[];
        return users.map((u) => u.user).join(",") === "Bob,Eve";
      },
      60_000,
    );
    await waitFor("Bob's users.txt to list just Bob and Eve", async () => (await usersFile(bob)).trim().split("\n").map((line) => line.split(" ")[0]).join(",") === "Bob,Eve", 30_000);
  });
});
