/**
 * The whole system with real processes: a `wrangler dev` tracker and three
 * peers exchanging real files over real sockets.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

let tracker: Tracker;
let dir: string;
let a: PeerProcess;
let b: PeerProcess;
let c: PeerProcess;
let aFile: string;
let aSecond: string;
let bFile: string;

const listFiles = async (peer: PeerProcess) => {
  const result = await peer.run("list-files");
  expect(result.code, result.stderr).toBe(0);
  return result.stdout.trim().split("\n").filter(Boolean);
};
const usersFile = (peer: PeerProcess) => readFile(join(peer.home, "users.txt"), "utf8").catch(() => "");

beforeAll(async () => {
  dir = await makeTempDir("p2p-e2e-");
  tracker = await startTracker();
  // C names itself at start: it offers nothing until it downloads.
  [a, b, c] = await Promise.all([
    startPeer("A", tracker.url, dir),
    startPeer("B", tracker.url, dir),
    startPeer("C", tracker.url, dir, { args: ["--user", "C"] }),
  ]);
  aFile = join(dir, "files-a", "movie.bin");
  aSecond = join(dir, "files-a", "notes with spaces.txt");
  bFile = join(dir, "files-b", "song.bin");
  await mkdir(join(dir, "files-a"));
  await mkdir(join(dir, "files-b"));
  await writeFile(aFile, randomBytes(5 * 1024 * 1024 + 123));
  await writeFile(aSecond, "hello from A\n");
  await writeFile(bFile, randomBytes(300_000));
}, 120_000);

afterAll(async () => {
  await Promise.all([a, b, c].filter(Boolean).map((p) => p.kill()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("three peers and a tracker", () => {
  it("lists registered files as `<user> : <path>` lines", async () => {
    const ra = await a.run("register", "A", `${aFile},`, aSecond);
    expect(ra.code, ra.stderr).toBe(0);
    const rb = await b.run("register", "B", bFile);
    expect(rb.code, rb.stderr).toBe(0);

    const lines = await listFiles(c);
    expect(lines).toEqual([`A : ${aFile}`, `A : ${aSecond}`, `B : ${bFile}`].sort());
    const json = JSON.parse((await c.run("list-files", "--json")).stdout);
    expect(json).toContainEqual({ user: "A", path: aFile, size: 5 * 1024 * 1024 + 123, root: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it("gives C a copy of A's file, byte for byte, and lists C as a holder", async () => {
    await waitFor("C to see A in its user map", async () => (await usersFile(c)).includes("A – 127.0.0.1:"));
    const save = join(dir, "c-downloads", "movie.bin");
    const result = await c.run("download", "A", aFile, save);
    expect(result.code, result.stderr).toBe(0);
    expect(Buffer.compare(await readFile(save), await readFile(aFile))).toBe(0);
    expect(existsSync(`${save}.part`)).toBe(false);
    expect(await listFiles(b)).toContain(`C : ${save}`);
  });

  it("writes every peer's users.txt with all three users", async () => {
    for (const peer of [a, b, c]) {
      const text = await waitFor(`${peer.name}'s users.txt to list A, B and C`, async () => {
        const t = await usersFile(peer);
        return ["A", "B", "C"].every((u) => new RegExp(`^${u} – 127\\.0\\.0\\.1:\\d+$`, "m").test(t)) && t;
      });
      expect(text.trim().split("\n")).toHaveLength(3);
    }
  });

  it("lets B download from C the file C got from A", async () => {
    const fromC = join(dir, "c-downloads", "movie.bin");
    const save = join(dir, "b-downloads", "movie-via-c.bin");
    const result = await b.run("download", "C", fromC, save, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ user: "C", saved: save, registeredAs: "B" });
    expect(Buffer.compare(await readFile(save), await readFile(aFile))).toBe(0);
  });

  it("refuses an unknown user, saying when the map was refreshed", async () => {
    const save = join(dir, "c-downloads", "nobody.bin");
    const result = await c.run("download", "Nobody", aFile, save);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/unknown user "Nobody".*last refreshed/);
    expect(existsSync(save)).toBe(false);
  });

  it("refuses a path A does not offer, including traversal tricks", async () => {
    for (const path of ["/etc/passwd", `${dir}/files-b/../files-a/movie.bin`, `${dir}/files-a/./movie.bin`, join(dir, "files-b", "song.bin")]) {
      const save = join(dir, "c-downloads", "refused.bin");
      const result = await c.run("download", "A", path, save);
      expect(result.code, path).toBe(5);
      expect(result.stderr).toContain("not offered");
      expect(existsSync(save)).toBe(false);
      expect(existsSync(`${save}.part`)).toBe(false);
    }
  });

  it("stops serving a file once A unregisters it", async () => {
    const result = await a.run("unregister", "A", aSecond);
    expect(result.code, result.stderr).toBe(0);
    expect(await listFiles(c)).not.toContain(`A : ${aSecond}`);
    const save = join(dir, "c-downloads", "notes.txt");
    const refused = await c.run("download", "A", aSecond, save);
    expect(refused.code).toBe(5);
    expect(existsSync(save)).toBe(false);
  });

  it("never overwrites an existing file unless --force, and stays quiet when piped", async () => {
    const save = join(dir, "c-downloads", "existing.bin");
    await writeFile(save, "keep me");
    const refused = await c.run("download", "A", aFile, save);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain("--force");
    expect(await readFile(save, "utf8")).toBe("keep me");

    const forced = await c.run("download", "A", aFile, save, "--force");
    expect(forced.code, forced.stderr).toBe(0);
    expect(Buffer.compare(await readFile(save), await readFile(aFile))).toBe(0);
    // No progress bar when the output is not a terminal.
    expect(forced.stderr).not.toMatch(/\[#|ETA/);
  });

  it("fails clearly when the source dies mid-download, leaving nothing under the final name", async () => {
    // D uploads at 1 MiB/s, so the 6 MiB transfer is surely under way when D is killed.
    const d = await startPeer("D", tracker.url, dir, { args: ["--user", "D"], env: { P2P_TEST_THROTTLE_BPS: String(1024 * 1024) } });
    try {
      const dFile = join(dir, "files-b", "slow.bin");
      await writeFile(dFile, randomBytes(6 * 1024 * 1024));
      expect((await d.run("register", "D", dFile)).code).toBe(0);
      await waitFor("C to see D", async () => (await usersFile(c)).includes("D – "));

      const save = join(dir, "c-downloads", "slow.bin");
      const download = c.run("download", "D", dFile, save);
      await waitFor("the transfer to start", async () => ((await stat(`${save}.part`).catch(() => null))?.size ?? 0) > 0);
      await d.kill("SIGKILL");

      const result = await download;
      expect(result.code).toBe(5);
      expect(result.stderr).toMatch(/no source is left to deliver the rest of .*\(D: .*(closed|reset)/);
      expect(existsSync(save)).toBe(false);
      // What was verified stays for a later resume, never under the final name.
      expect(existsSync(`${save}.part`)).toBe(true);
    } finally {
      await d.kill("SIGKILL");
    }
  });

  it("forgets A at once when it stops, and from users.txt after the next refresh", async () => {
    await a.kill("SIGKILL");
    // Within the default 15 s: far sooner than the 45 s heartbeat, so only the closed socket can have done it.
    await waitFor("A's files to leave list-files", async () => !(await listFiles(c)).some((l) => l.startsWith("A : ")));
    expect(await listFiles(b)).toContain(`B : ${bFile}`);
    for (const peer of [b, c]) {
      await waitFor(`${peer.name}'s users.txt to drop A`, async () => {
        const t = await usersFile(peer);
        return !t.includes("A – ") && t.includes("B – ");
      });
    }
    const result = await c.run("download", "A", aFile, join(dir, "c-downloads", "late.bin"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown user "A"');
  });
});
