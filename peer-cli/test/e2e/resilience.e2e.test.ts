/**
 * Nothing lost, nobody stranded: tracker restarts, frozen trackers and peers,
 * peer restarts and name races, with real processes and real kills.
 */
import { randomBytes } from "node:crypto";
import { appendFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

const HEARTBEAT_MS = 3000;
let dir: string;
let stateDir: string;
let port: number;
let tracker: Tracker;
const peers: PeerProcess[] = [];

async function peer(name: string, extra: string[] = []): Promise<PeerProcess> {
  const p = await startPeer(name, `ws://127.0.0.1:${port}/ws`, dir, { args: extra, env: { P2P_TEST_PING_MS: "500" } });
  peers.push(p);
  return p;
}

const trackerFiles = async () =>
  (await (await fetch(`${tracker.http}/api/files`)).json()) as { user: string; path: string; size: number; root: string }[];
const trackerUsers = async () => ((await (await fetch(`${tracker.http}/api/users`)).json()) as { user: string }[]).map((u) => u.user).sort();

async function makeFile(name: string, bytes = 200_000): Promise<string> {
  const path = join(dir, "files", name);
  await mkdir(join(dir, "files"), { recursive: true });
  await writeFile(path, randomBytes(bytes));
  return path;
}

beforeAll(async () => {
  dir = await makeTempDir("p2p-resilience-");
  stateDir = join(dir, "tracker-state");
  port = await freePort();
  tracker = await startTracker({ port, stateDir, vars: { HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_MS) } });
}, 120_000);

afterAll(async () => {
  await Promise.all(peers.map((p) => p.kill("SIGKILL")));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("a tracker restart", () => {
  it("brings every peer back within 10 s with every file listed once and no ghosts", async () => {
    const [a, b, c] = await Promise.all([peer("RA", ["--user", "RA"]), peer("RB", ["--user", "RB"]), peer("RC", ["--user", "RC"])]);
    const fa = await makeFile("ra.bin");
    const fb = await makeFile("rb.bin");
    expect((await a!.run("register", "RA", fa)).code).toBe(0);
    expect((await b!.run("register", "RB", fb)).code).toBe(0);
    // C's local maps know B and its file (with its root): all a download needs without a tracker.
    await waitFor("C to see B's file", async () => (await readFile(join(c!.home, "files.json"), "utf8").catch(() => "")).includes(JSON.stringify(fb)));

    await tracker.stop();
    // While the tracker is down: tracker commands fail at once, downloads still work.
    const listed = await c!.run("list-files");
    expect(listed.code).toBe(4);
    expect(listed.stderr).toMatch(/tracker unreachable at .*retrying since/);
    const save = join(dir, "rc", "rb.bin");
    const got = await c!.run("download", "RB", fb, save, "--json");
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout).registerError).toMatch(/registered when the tracker is back/);

    tracker = await startTracker({ port, stateDir, vars: { HEARTBEAT_TIMEOUT_MS: String(HEARTBEAT_MS) } });
    await waitFor(
      "every peer and file to be back",
      async () => {
        const files = (await trackerFiles()).map((f) => `${f.user} : ${f.path}`).sort();
        return JSON.stringify(files) === JSON.stringify([`RA : ${fa}`, `RB : ${fb}`, `RC : ${save}`].sort());
      },
      10_000,
    );
    expect(await trackerUsers()).toEqual(["RA", "RB", "RC"]);
    await Promise.all([a, b, c].map((p) => p!.kill()));
  });
});

describe("a frozen peer", () => {
  it("is dropped after the heartbeat timeout and comes back when it thaws", async () => {
    const frozen = await peer("FZ", ["--user", "FZ"]);
    const file = await makeFile("fz.bin");
    expect((await frozen.run("register", "FZ", file)).code).toBe(0);
    process.kill(frozen.child.pid!, "SIGSTOP");
    try {
      await waitFor("the tracker to drop the frozen peer", async () => !(await trackerUsers()).includes("FZ"), HEARTBEAT_MS * 4);
      expect((await trackerFiles()).some((f) => f.user === "FZ")).toBe(false);
    } finally {
      process.kill(frozen.child.pid!, "SIGCONT");
    }
    await waitFor("the thawed peer to be back with its file", async () => (await trackerFiles()).some((f) => f.user === "FZ" && f.path === file));
    await frozen.kill();
  });
});

describe("a frozen tracker", () => {
  it("is noticed by missed pongs; peers answer at once meanwhile and recover their names after", async () => {
    const p = await peer("HO", ["--user", "HO"]);
    const file = await makeFile("ho.bin");
    expect((await p.run("register", "HO", file)).code).toBe(0);
    process.kill(-tracker.pid, "SIGSTOP");
    try {
      await waitFor("the peer to notice", async () => (await p.run("list-files")).stderr.includes("tracker unreachable"), 10_000);
    } finally {
      process.kill(-tracker.pid, "SIGCONT");
    }
    await waitFor("the peer to reclaim its name and file", async () => {
      const result = await p.run("list-files");
      return result.code === 0 && result.stdout.includes(`HO : ${file}`);
    }, 20_000);
    expect(p.logs()).not.toContain("lost the name");
    await p.kill();
  });
});

describe("peers", () => {
  it("offer again what they offered after a restart, re-hashing changed files and dropping deleted ones; --fresh starts empty", async () => {
    let p = await peer("RS", ["--user", "RS"]);
    const kept = await makeFile("rs-kept.bin");
    const changed = await makeFile("rs-changed.bin", 1000);
    const deleted = await makeFile("rs-deleted.bin");
    expect((await p.run("register", "RS", kept, changed, deleted)).code).toBe(0);
    await p.kill();
    await waitFor("RS to leave", async () => !(await trackerUsers()).includes("RS"));

    await appendFile(changed, "more bytes");
    await rm(deleted);
    p = await peer("RS"); // no --user: the home remembers
    await waitFor("RS's files to be back", async () => (await trackerFiles()).filter((f) => f.user === "RS").length === 2);
    const files = (await trackerFiles()).filter((f) => f.user === "RS");
    expect(files.map((f) => f.path).sort()).toEqual([changed, kept].sort());
    expect(files.find((f) => f.path === changed)!.size).toBe(1000 + "more bytes".length);
    await p.kill();
    await waitFor("RS to leave again", async () => !(await trackerUsers()).includes("RS"));

    // Started over under the same name: once the tracker lists the name, the
    // peer has announced everything it offers (the name and its files go in one
    // register), so the absence of files below is what --fresh did.
    p = await peer("RS", ["--fresh", "--user", "RS"]);
    await waitFor("the fresh RS to be listed", async () => (await trackerUsers()).includes("RS"));
    expect((await trackerFiles()).filter((f) => f.user === "RS")).toEqual([]);
    // ...and what it saves for the next start is empty too.
    await waitFor("the fresh RS to save an empty state", async () => {
      const saved = JSON.parse(await readFile(join(p.home, "state.json"), "utf8")) as { user: string | null; files: unknown[] };
      return saved.user === "RS" && saved.files.length === 0;
    });
    await p.kill();
  });

  it("racing for one name: exactly one wins, the other keeps working unnamed", async () => {
    const [x, y] = await Promise.all([peer("RX"), peer("RY")]);
    const fx = await makeFile("rx.bin");
    const fy = await makeFile("ry.bin");
    const results = await Promise.all([x!.run("register", "Racer", fx), y!.run("register", "Racer", fy)]);
    expect(results.map((r) => r.code).sort()).toEqual([0, 1]);
    const loser = results[0]!.code === 0 ? y! : x!;
    expect(results.find((r) => r.code === 1)!.stderr).toContain('"Racer" is in use');
    const listed = await loser.run("list-files");
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim().split("\n").filter((l) => l.startsWith("Racer : "))).toHaveLength(1);
    await Promise.all([x!.kill(), y!.kill()]);
  });
});
