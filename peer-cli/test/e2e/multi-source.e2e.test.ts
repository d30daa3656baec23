/**
 * Downloads that finish: pieces from every holder at once, a lying holder,
 * a holder killed mid-way, a downloader killed mid-way, and a lost only source.
 * Holders upload at a capped rate (a test-only switch) so every transfer is
 * still running when something is done to it.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pieceSizeFor } from "@p2p/shared";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

const SIZE = 64 * 1024 * 1024;
const PIECE = pieceSizeFor(SIZE);
const RATE = String(24 * 1024 * 1024);

let tracker: Tracker;
let dir: string;
let original: Buffer;
const peers: PeerProcess[] = [];

async function holder(name: string, env: Record<string, string> = {}): Promise<{ peer: PeerProcess; path: string }> {
  const peer = await startPeer(name, tracker.url, dir, { args: ["--user", name], env: { P2P_TEST_THROTTLE_BPS: RATE, ...env } });
  peers.push(peer);
  const path = join(dir, `files-${name}`, "big.bin");
  await mkdir(join(dir, `files-${name}`), { recursive: true });
  await copyFile(join(dir, "original.bin"), path);
  const result = await peer.run("register", name, path);
  expect(result.code, result.stderr).toBe(0);
  return { peer, path };
}

async function downloader(name: string): Promise<PeerProcess> {
  const peer = await startPeer(name, tracker.url, dir, { args: ["--user", name] });
  peers.push(peer);
  return peer;
}

/** Waits until `peer`'s cached index shows each of `users` holding the file. */
async function seesHolders(peer: PeerProcess, users: string[]): Promise<void> {
  await waitFor(`${peer.name} to see ${users.join(", ")} in its index`, async () => {
    const text = await readFile(join(peer.home, "files.json"), "utf8").catch(() => "[]");
    const holders = (JSON.parse(text) as { user: string }[]).map((f) => f.user);
    return users.every((u) => holders.includes(u));
  });
}

const download = async (peer: PeerProcess, from: string, path: string, save: string, ...extra: string[]) => {
  const result = await peer.run("download", from, path, save, "--json", ...extra);
  return { ...result, outcome: result.code === 0 ? JSON.parse(result.stdout) : undefined };
};

const sameAsOriginal = async (path: string) => Buffer.compare(await readFile(path), original) === 0;

beforeAll(async () => {
  dir = await makeTempDir("p2p-multi-");
  original = randomBytes(SIZE);
  await writeFile(join(dir, "original.bin"), original);
  tracker = await startTracker();
}, 120_000);

// Each test's downloader becomes a holder too; stop everyone so tests stay independent.
afterEach(async () => {
  await Promise.all(peers.splice(0).map((p) => p.kill("SIGKILL")));
}, 60_000);

afterAll(async () => {
  await tracker?.stop();
  // Some 1.5 GB of copies per run: left behind, they fill the disk of the machine that runs the tests.
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("multi-source downloads", () => {
  it("takes pieces from all three holders at once", async () => {
    const [a, b, c] = await Promise.all(["A1", "B1", "C1"].map((n) => holder(n)));
    const d = await downloader("D1");
    await seesHolders(d, ["A1", "B1", "C1"]);
    const save = join(dir, "d1", "big.bin");
    const { code, stderr, outcome } = await download(d, "A1", a!.path, save);
    expect(code, stderr).toBe(0);
    expect(await sameAsOriginal(save)).toBe(true);
    const served = Object.fromEntries(outcome.sources.map((s: { user: string; pieces: number }) => [s.user, s.pieces]));
    expect(Object.keys(served).sort()).toEqual(["A1", "B1", "C1"]);
    for (const user of ["A1", "B1", "C1"]) expect(served[user], user).toBeGreaterThan(0);
    expect(outcome.refetched).toBe(0);
    await Promise.all([a, b, c].map((h) => h!.peer.kill()));
  });

  it("--single-source uses the named user only", async () => {
    const [a] = await Promise.all(["A2", "B2"].map((n) => holder(n)));
    const d = await downloader("D2");
    await seesHolders(d, ["A2", "B2"]);
    const save = join(dir, "d2", "big.bin");
    const { code, stderr, outcome } = await download(d, "A2", a!.path, save, "--single-source");
    expect(code, stderr).toBe(0);
    expect(outcome.sources.map((s: { user: string }) => s.user)).toEqual(["A2"]);
    expect(await sameAsOriginal(save)).toBe(true);
  });

  it("drops and names a holder that serves corrupted bytes, and still delivers the file intact", async () => {
    const [a] = await Promise.all([holder("A3"), holder("Liar3", { P2P_TEST_CORRUPT_RANGES: "1" }), holder("C3")]);
    const d = await downloader("D3");
    await seesHolders(d, ["A3", "Liar3", "C3"]);
    const save = join(dir, "d3", "big.bin");
    const { code, stderr, outcome } = await download(d, "A3", a!.path, save);
    expect(code, stderr).toBe(0);
    expect(await sameAsOriginal(save)).toBe(true);
    const liar = outcome.sources.find((s: { user: string }) => s.user === "Liar3");
    expect(liar.dropped).toMatch(/failed its hash check/);
    expect(liar.pieces).toBe(0);
    expect(outcome.refetched).toBeGreaterThan(0);
    // Without --json the drop is named on stderr.
    const plain = await d.run("download", "A3", a!.path, join(dir, "d3", "again.bin"));
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toContain("dropped source Liar3");
  });

  it("finishes from the others when a holder is killed mid-download", async () => {
    // Slower holders (about 5 s for the file), so the download is surely still running when the victim dies, even on a busy machine.
    const slow = { P2P_TEST_THROTTLE_BPS: String(4 * 1024 * 1024) };
    const [a, victim] = await Promise.all([holder("A4", slow), holder("Victim4", slow), holder("C4", slow)]);
    const d = await downloader("D4");
    await seesHolders(d, ["A4", "Victim4", "C4"]);
    const save = join(dir, "d4", "big.bin");
    const pending = download(d, "A4", a!.path, save);
    await waitFor("a tenth of the file", async () => (await verifiedFraction(save)) > 0.1);
    await victim!.peer.kill("SIGKILL");
    const { code, stderr, outcome } = await pending;
    expect(code, stderr).toBe(0);
    expect(await sameAsOriginal(save)).toBe(true);
    expect(outcome.sources.find((s: { user: string }) => s.user === "Victim4").dropped).toBeTruthy();
  });

  it("resumes after the downloader is killed half-way, fetching only what was missing", async () => {
    // About 5 s for each half: the kill surely lands before the end, even on a busy machine.
    const slow = { P2P_TEST_THROTTLE_BPS: String(2 * 1024 * 1024) };
    const [a] = await Promise.all(["A5", "B5", "C5"].map((n) => holder(n, slow)));
    let d = await downloader("D5");
    await seesHolders(d, ["A5", "B5", "C5"]);
    const save = join(dir, "d5", "big.bin");
    void d.run("download", "A5", a!.path, save);
    await waitFor("half of the file", async () => (await verifiedFraction(save)) >= 0.5);
    await d.kill("SIGKILL");
    expect(existsSync(save)).toBe(false);
    expect(existsSync(`${save}.part`)).toBe(true);

    d = await downloader("D5");
    await seesHolders(d, ["A5", "B5", "C5"]);
    const { code, stderr, outcome } = await download(d, "A5", a!.path, save);
    expect(code, stderr).toBe(0);
    expect(await sameAsOriginal(save)).toBe(true);
    expect(outcome.resumed).toBeGreaterThanOrEqual(SIZE / 2 - 16 * PIECE);
    // What was missing, plus endgame doubling: at most a window (2 MiB) per source. Fetching the resumed half again would be 32 MiB more.
    expect(outcome.transferred).toBeLessThanOrEqual(SIZE - outcome.resumed + outcome.sources.length * 2 * 1024 * 1024);
    expect(existsSync(`${save}.part`)).toBe(false);
  });

  it("fails clearly when the only source disappears, keeps what was verified, and resumes later", async () => {
    // Slow (8 s for the file) so the kill surely lands before the end; the holder restarted later serves at the suite's usual rate.
    let only = await holder("Only6", { P2P_TEST_THROTTLE_BPS: String(8 * 1024 * 1024) });
    const d = await downloader("D6");
    await seesHolders(d, ["Only6"]);
    const save = join(dir, "d6", "big.bin");
    const pending = download(d, "Only6", only.path, save);
    await waitFor("a third of the file", async () => (await verifiedFraction(save)) > 0.33);
    await only.peer.kill("SIGKILL");
    const failed = await pending;
    expect(failed.code).toBe(5);
    expect(failed.stderr).toMatch(/no source is left.*run the same download again to resume/);
    expect(existsSync(save)).toBe(false);
    expect(existsSync(`${save}.part`)).toBe(true);

    only = await holder("Only6");
    const port = /mini-server listening on [\d.]+:(\d+)/.exec(only.peer.logs())![1];
    await waitFor("D6 to see Only6 at its new address", async () => (await d.run("users")).stdout.includes(`Only6 – 127.0.0.1:${port}`));
    const { code, stderr, outcome } = await download(d, "Only6", only.path, save);
    expect(code, stderr).toBe(0);
    expect(outcome.resumed).toBeGreaterThan(0);
    expect(await sameAsOriginal(save)).toBe(true);
  });
});

/** How much of `<save>.part` already holds the original's bytes, piece by piece. */
async function verifiedFraction(save: string): Promise<number> {
  const part = await readFile(`${save}.part`).catch(() => null);
  if (!part || part.length !== SIZE) return 0;
  let good = 0;
  for (let offset = 0; offset < SIZE; offset += PIECE) {
    if (part.subarray(offset, offset + PIECE).equals(original.subarray(offset, offset + PIECE))) good++;
  }
  return (good * PIECE) / SIZE;
}

