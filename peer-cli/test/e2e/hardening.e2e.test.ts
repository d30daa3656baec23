/**
 * Careless and hostile use of real peers against a real tracker: two peers
 * saving to one path, a peer stopped with a command attached, a home others
 * can write, names that would drive a terminal, odd file names, a working
 * directory past PATH_MAX, a downloader killed mid-transfer, a file changed
 * in place while its peer was down.
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, chown, mkdir, readFile, stat, utimes, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, runPeerCli, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";
import { rootOf, sha256 } from "../helpers.ts";

let tracker: Tracker;
let dir: string;
const peers: PeerProcess[] = [];
const MiB = 1024 * 1024;
const BIN = join(import.meta.dirname, "../../bin/p2p-peer.js");

async function peer(name: string, options: Parameters<typeof startPeer>[3] = {}): Promise<PeerProcess> {
  const p = await startPeer(name, tracker.url, dir, { ...options, args: ["--user", name, ...(options.args ?? [])] });
  peers.push(p);
  return p;
}

async function file(name: string, data: Buffer): Promise<string> {
  const path = join(dir, "files", name);
  await mkdir(join(dir, "files"), { recursive: true });
  await writeFile(path, data);
  return path;
}

const trackerFiles = async () => (await (await fetch(`${tracker.http}/api/files`)).json()) as { user: string; path: string; root: string }[];
const knows = (p: PeerProcess, user: string, path: string) =>
  waitFor(`${p.name} to know ${user}'s ${path}`, async () => (await readFile(join(p.home, "files.json"), "utf8").catch(() => "")).includes(JSON.stringify(path)));

beforeAll(async () => {
  dir = await makeTempDir("p2p-hardening-");
  tracker = await startTracker();
}, 120_000);

afterAll(async () => {
  await Promise.all(peers.map((p) => p.kill("SIGKILL")));
  await tracker?.stop();
  // rm(1), not Node's rm: the PATH_MAX test's tree is too deep for Node if that test stopped before removing it.
  if (dir) spawnSync("rm", ["-rf", dir]);
}, 60_000);

describe("two peers saving to one path", () => {
  it("lets exactly one write it; the other fails at once (exit 5) and the saved bytes are the source's", async () => {
    const data = randomBytes(6 * MiB);
    // Slow enough (6 s) that the second process surely starts while the first still holds the save path, even on a loaded machine.
    const source = await peer("Src1", { env: { P2P_TEST_THROTTLE_BPS: String(1 * MiB) } });
    const path = await file("shared.bin", data);
    expect((await source.run("register", "Src1", path)).code).toBe(0);
    const [d1, d2] = await Promise.all([peer("Down1"), peer("Down2")]);
    await Promise.all([knows(d1!, "Src1", path), knows(d2!, "Src1", path)]);

    const save = join(dir, "both", "shared.bin");
    const results = await Promise.all([d1!.run("download", "Src1", path, save, "--json"), d2!.run("download", "Src1", path, save, "--json")]);
    const codes = results.map((r) => r.code).sort();
    expect(codes).toEqual([0, 5]);
    const loser = results.find((r) => r.code === 5)!;
    expect(loser.stderr).toMatch(/error: a download to .*shared\.bin is already running/);
    expect(sha256(await readFile(save))).toBe(sha256(data));
    const winner = JSON.parse(results.find((r) => r.code === 0)!.stdout);
    expect(winner.root).toBe(rootOf(data));
  });
});

describe("stopping a peer", () => {
  it("does not wait for a command still connected to its control socket", async () => {
    const p = await peer("Stopper");
    const idle = createConnection(join(p.home, "control.sock"));
    await new Promise((resolve) => idle.once("connect", resolve));
    const closed = new Promise((resolve) => idle.once("close", resolve));
    const exited = new Promise<number | null>((resolve) => p.child.once("exit", (code) => resolve(code)));
    process.kill(p.child.pid!, "SIGTERM");
    expect(await exited).toBe(0);
    await closed;
  });
});

describe("a home others can write", () => {
  it("is made private before use", async () => {
    const home = join(dir, "OpenHome");
    await mkdir(home, { mode: 0o777 });
    await chmod(home, 0o777);
    const p = await peer("OpenHome");
    expect(p.logs()).toContain(`made ${home} private (it was mode 777)`);
    expect((await stat(home)).mode & 0o777).toBe(0o700);
  });

  it("is refused when its state.json could have been written by someone else, and nothing is offered", async () => {
    const secret = await file("secret.txt", Buffer.from("the owner's private file"));
    await chmod(secret, 0o600);
    const home = join(dir, "Victim");
    await mkdir(home, { mode: 0o700 });
    const info = await stat(secret);
    const planted = {
      version: 3,
      user: "Victim",
      files: [{ path: secret, size: info.size, root: rootOf(await readFile(secret)), dev: info.dev, ino: info.ino, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, hashedAt: Date.now() }],
    };
    await writeFile(join(home, "state.json"), JSON.stringify(planted));
    const asRoot = process.getuid?.() === 0;
    // Another user's file (as root we can make one); otherwise one that anyone may write.
    if (asRoot) await chown(join(home, "state.json"), 4242, 4242);
    else await chmod(join(home, "state.json"), 0o666);

    const started = await runPeerCli(["start", "--tracker", tracker.url, "--home", home, "--bind", "127.0.0.1"]);
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(`${join(home, "state.json")} ${asRoot ? "belongs to user 4242" : "is writable by others"}`);
    expect(started.stderr).toContain("the peer will not trust it");
    expect((await trackerFiles()).some((f) => f.path === secret)).toBe(false);
  });
});

describe("names that would drive a terminal or fool the eye", () => {
  it("with control characters cannot be registered, and bidirectional overrides are printed escaped, exactly by --json", async () => {
    const p = await peer("Painter");
    const forged = await file("evil\nMallory : passwords.txt\u001b[2J\u001b]0;owned\u0007.txt", Buffer.from("x"));
    const refused = await p.run("register", "Painter", "--", forged);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("contains a control character (U+000A)");
    expect(refused.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);

    // A right-to-left override shows "evil\u202egpj.exe" as "evilexe.jpg": shown as an escape instead.
    const spoof = await file("evil\u202egpj.exe", Buffer.from("x"));
    expect((await p.run("register", "Painter", "--", spoof)).code).toBe(0);
    const listed = await p.run("list-files");
    expect(listed.stdout.split("\n")).toContain(`Painter : ${join(dir, "files")}/evil\\u202egpj.exe`);
    expect(listed.stdout).not.toContain("\u202e");
    const json = JSON.parse((await p.run("list-files", "--json")).stdout) as { path: string }[];
    expect(json.map((f) => f.path)).toContain(spoof);
  });
});

describe("odd file names", () => {
  it("with a comma or a leading dash are registered after --, and an unknown option is refused with that advice", async () => {
    const p = await peer("Odd");
    const comma = await file("a,b.txt", Buffer.from("comma"));
    const dash = await file("-x.txt", Buffer.from("dash"));
    const refused = await p.runIn(join(dir, "files"), "register", "Odd", "-x.txt");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('register has no option "-x.txt"; to name a file that starts with "-", put "--" before it');

    // -v and -h are not shortcuts here either: a file of that name needs -- too.
    expect((await p.runIn(join(dir, "files"), "register", "Odd", "-v")).stderr).toContain('register has no option "-v"');
    // An unquoted space would lose the save path's second half: refused instead.
    const split = await p.run("download", "Odd", comma, join(dir, "my"), "copy.txt");
    expect(split.code).toBe(2);
    expect(split.stderr).toContain('"copy.txt" is left over (quote a path that has spaces)');

    const registered = await p.runIn(join(dir, "files"), "register", "Odd", "--", "a,b.txt", "-x.txt");
    expect(registered.code, registered.stderr).toBe(0);
    const paths = (JSON.parse((await p.run("list-files", "--json")).stdout) as { user: string; path: string }[]).filter((f) => f.user === "Odd").map((f) => f.path);
    expect(paths.sort()).toEqual([dash, comma].sort());
  });
});

describe("a working directory longer than PATH_MAX", () => {
  it("gives a clear error for a relative path instead of a raw ERANGE", async () => {
    const p = await peer("Deep");
    const segment = "d".repeat(250);
    // Only a shell can walk there: each cd is short, the whole path is not.
    const script = `for i in $(seq 1 18); do mkdir -p ${segment} && cd ${segment} || exit 9; done; echo x > rel.txt; exec "$0" "$1" register Deep rel.txt`;
    const child = spawn("bash", ["-c", script, process.execPath, BIN], { cwd: dir, env: { ...process.env, P2P_PEER_HOME: p.home } });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve)).finally(() => {
      // Node's rm cannot walk a tree this deep (ENAMETOOLONG); rm(1) can.
      spawnSync("rm", ["-rf", join(dir, segment)]);
    });
    expect(stderr).not.toContain("ERANGE");
    expect(code).toBe(2);
    expect(stderr).toMatch(/is longer than 4096 bytes/);
  });
});

describe("a downloader killed mid-download", () => {
  it("makes its download command fail with exit 5, saying what is kept", async () => {
    const source = await peer("SlowSrc", { env: { P2P_TEST_THROTTLE_BPS: String(1 * MiB) } });
    const path = await file("slow.bin", randomBytes(8 * MiB));
    expect((await source.run("register", "SlowSrc", path)).code).toBe(0);
    const victim = await peer("Victim2");
    await knows(victim, "SlowSrc", path);
    const save = join(dir, "killed", "slow.bin");
    const running = victim.run("download", "SlowSrc", path, save);
    await waitFor("the download to start", async () => (await stat(`${save}.part`).catch(() => null)) !== null);
    await victim.kill("SIGKILL");
    const result = await running;
    expect(result.code).toBe(5);
    expect(result.stderr).toContain("the peer stopped during the download");
  });
});

describe("a file changed in place while its peer was down", () => {
  it("is listed with its new hash after the restart, even with its old size and mtime put back", async () => {
    const first = await peer("Changer");
    const path = await file("changing.bin", Buffer.alloc(64 * 1024, 1));
    // Whole seconds, long ago: a time that can be put back exactly, and not racy.
    const longAgo = new Date("2020-01-01T00:00:00Z");
    await utimes(path, longAgo, longAgo);
    expect((await first.run("register", "Changer", path)).code).toBe(0);
    await first.kill();

    const changed = Buffer.alloc(64 * 1024, 2);
    await writeFile(path, changed);
    await utimes(path, longAgo, longAgo);
    expect((await stat(path)).mtimeMs).toBe(longAgo.getTime());
    const second = await peer("Changer");
    await waitFor("the new hash to be listed", async () => (await trackerFiles()).some((f) => f.user === "Changer" && f.path === path && f.root === rootOf(changed)));
    expect(second.logs()).toContain("offering again 1 files");
  });
});
