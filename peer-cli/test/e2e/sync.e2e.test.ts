/**
 * Peers kept current by the tracker's versions, with real processes: the
 * README's two-peer walkthrough followed exactly, with no waiting for a
 * refresh; a newcomer in every peer's users.txt and files.json without one
 * (the refresh here is an hour); and list-files filtered on the tracker.
 */
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

const ROOT = resolve(import.meta.dirname, "../../..");
/**
 * Refreshes and pings far apart, longer than any test here: whatever reaches
 * a peer's maps came by a notice, not by the periodic refresh nor by a pong
 * telling of a newer version.
 */
const HOUR = 3600;
const NO_PINGS = { P2P_TEST_PING_MS: "600000" };

let tracker: Tracker;
let dir: string;
const peers: PeerProcess[] = [];
const start = async (name: string, ...args: string[]) => {
  const peer = await startPeer(name, tracker.url, dir, { refresh: HOUR, args, env: NO_PINGS });
  peers.push(peer);
  return peer;
};
const text = (path: string) => readFile(path, "utf8").catch(() => "");

beforeAll(async () => {
  dir = await makeTempDir("p2p-sync-e2e-");
  tracker = await startTracker();
}, 120_000);

afterAll(async () => {
  await Promise.all(peers.map((p) => p.kill()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("the README walkthrough", () => {
  it("works on the first try: Bob downloads Alice's README.md right after she registers it", async () => {
    const alice = await start("alice", "--user", "Alice");
    const bob = await start("bob", "--user", "Bob");

    const registered = await alice.runIn(ROOT, "register", "Alice", "README.md,", "package.json");
    expect(registered.code, registered.stderr).toBe(0);
    const listed = await alice.run("list-files");
    expect(listed.stdout).toContain(`Alice : ${join(ROOT, "README.md")}`);
    await waitFor("Alice's users.txt to list Alice", async () => /^Alice – 127\.0\.0\.1:\d+$/m.test(await text(join(alice.home, "users.txt"))));

    // No waiting: the download either finds Alice already (a notice) or refreshes its maps once.
    const save = join(dir, "bob-files", "README.md");
    const downloaded = await bob.runIn(ROOT, "download", "Alice", join(ROOT, "README.md"), save);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(await readFile(save, "utf8")).toBe(await readFile(join(ROOT, "README.md"), "utf8"));
    expect((await bob.run("list-files")).stdout).toContain(`Bob : ${save}`);
  });
});

describe("a newcomer", () => {
  it("is in every peer's users.txt, and its files in their files.json, without waiting for a refresh", async () => {
    const watchers = await Promise.all(["w1", "w2", "w3"].map((name) => start(name, "--user", name.toUpperCase())));
    const newcomer = await start("newcomer", "--user", "Newcomer");
    const registered = await newcomer.runIn(ROOT, "register", "Newcomer", "package.json");
    expect(registered.code, registered.stderr).toBe(0);

    for (const peer of watchers) {
      await waitFor(`${peer.name}'s maps to know Newcomer and its file`, async () => {
        const users = await text(join(peer.home, "users.txt"));
        const files = await text(join(peer.home, "files.json"));
        return /^Newcomer – 127\.0\.0\.1:\d+$/m.test(users) && files.includes(JSON.stringify(join(ROOT, "package.json")));
      });
    }

    await newcomer.kill();
    for (const peer of watchers) {
      await waitFor(`${peer.name}'s maps to drop Newcomer`, async () => {
        const users = await text(join(peer.home, "users.txt"));
        const files = await text(join(peer.home, "files.json"));
        return !users.includes("Newcomer") && !files.includes('"Newcomer"');
      });
    }
  });
});

describe("list-files with filters", () => {
  it("asks the tracker for what matches: by user, by text in the path, by content root", async () => {
    const lister = await start("lister", "--user", "Lister");
    await lister.runIn(ROOT, "register", "Lister", "tsconfig.json,", "vitest.config.ts");
    const lines = async (...args: string[]) => {
      const result = await lister.run("list-files", ...args);
      expect(result.code, result.stderr).toBe(0);
      return result.stdout.trim().split("\n").filter(Boolean);
    };

    expect(await lines("--user", "Lister")).toEqual([`Lister : ${join(ROOT, "tsconfig.json")}`, `Lister : ${join(ROOT, "vitest.config.ts")}`]);
    expect(await lines("--user", "Lister", "--match", "VITEST")).toEqual([`Lister : ${join(ROOT, "vitest.config.ts")}`]);
    // A file of one piece (up to 256 KiB) has its plain SHA-256 as its root, so --sha256 finds it too.
    const sha256 = createHash("sha256").update(await readFile(join(ROOT, "tsconfig.json"))).digest("hex");
    for (const flag of ["--root", "--sha256"]) {
      expect((await lines(flag, sha256.toUpperCase())).filter((l) => l.startsWith("Lister :"))).toEqual([`Lister : ${join(ROOT, "tsconfig.json")}`]);
    }
    const json = JSON.parse((await lister.run("list-files", "--user", "Lister", "--match", "tsconfig", "--json")).stdout);
    expect(json).toEqual([{ user: "Lister", path: join(ROOT, "tsconfig.json"), size: expect.any(Number), root: sha256 }]);

    const none = await lister.run("list-files", "--user", "Nobody");
    expect(none).toMatchObject({ code: 0, stdout: "" });
    expect(none.stderr).toContain("no offered file matches");
    for (const bad of [["--root", "xyz"], ["--user", "a b"], ["--match", ""], ["--root", "a".repeat(64), "--sha256", "b".repeat(64)]]) {
      expect((await lister.run("list-files", ...bad)).code, bad.join(" ")).toBe(2);
    }
  });
});
