/** What a user sees when a command is misused: a specific error, an exit code that means something, nothing changed. */
import { spawn } from "node:child_process";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, runPeerCli, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

let tracker: Tracker;
let dir: string;
let p: PeerProcess;
let q: PeerProcess;

const listed = async (peer: PeerProcess) => (await peer.run("list-files")).stdout.trim().split("\n").filter(Boolean);

beforeAll(async () => {
  dir = await makeTempDir("p2p-cmd-");
  tracker = await startTracker();
  [p, q] = await Promise.all([startPeer("P", tracker.url, dir), startPeer("Q", tracker.url, dir, { args: ["--user", "Q"] })]);
  await mkdir(join(dir, "work", "sub"), { recursive: true });
  await writeFile(join(dir, "work", "a.txt"), "a");
  await writeFile(join(dir, "work", "sub", "b.txt"), "b");
}, 120_000);

afterAll(async () => {
  await Promise.all([p, q].filter(Boolean).map((peer) => peer.kill()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("p2p-peer commands", () => {
  it("keeps the control socket private to its owner", async () => {
    expect((await stat(join(p.home, "control.sock"))).mode & 0o777).toBe(0o600);
  });

  it("says how to start a peer when none is running", async () => {
    const result = await runPeerCli(["list-files"], { P2P_PEER_HOME: join(dir, "nobody-home") });
    expect(result.code).toBe(3);
    expect(result.stderr).toContain(`p2p-peer start --home ${join(dir, "nobody-home")}`);
  });

  it("refuses a register naming a missing file or a folder, and registers nothing", async () => {
    const result = await p.runIn(join(dir, "work"), "register", "P", "a.txt,", "missing.txt", "sub");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(join(dir, "work", "missing.txt"));
    expect(result.stderr).toMatch(/sub.*not a regular file|not a regular file.*sub/);
    expect(await listed(q)).toEqual([]);
  });

  it("makes relative paths absolute", async () => {
    const result = await p.runIn(join(dir, "work"), "register", "P", "a.txt, sub/b.txt");
    expect(result.code, result.stderr).toBe(0);
    expect(await listed(q)).toEqual([`P : ${join(dir, "work", "a.txt")}`, `P : ${join(dir, "work", "sub", "b.txt")}`]);
  });

  it("refuses a second name for the same peer, and a name another peer holds", async () => {
    const second = await p.run("register", "P2", join(dir, "work", "a.txt"));
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('registered as "P"');
    const other = await q.run("register", "P", join(dir, "work", "a.txt"));
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('registered as "Q"');
    // A new peer cannot start under a name a live peer holds.
    const taken = await runPeerCli(["start", "--tracker", tracker.url, "--home", join(dir, "R"), "--user", "P", "--bind", "127.0.0.1"]);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('"P" is in use');
    expect(await listed(q)).toEqual([`P : ${join(dir, "work", "a.txt")}`, `P : ${join(dir, "work", "sub", "b.txt")}`]);
  });

  it("refuses invalid names and relative remote paths as usage errors", async () => {
    const badName = await p.run("register", "no spaces allowed", join(dir, "work", "a.txt"));
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain("invalid user name");
    const relative = await q.run("download", "P", "a.txt", join(dir, "q", "a.txt"));
    expect(relative.code).toBe(2);
    expect(relative.stderr).toContain("not absolute");
    const missingArgs = await q.run("download", "P");
    expect(missingArgs.code).toBe(2);
  });

  it("refuses to unregister a path it does not offer, and then removes nothing", async () => {
    const refused = await p.run("unregister", "P", join(dir, "work", "a.txt"), "/never/offered");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("nothing was unregistered; 1 of 2 paths are not offered by P:\n  /never/offered");
    expect(await listed(q)).toEqual([`P : ${join(dir, "work", "a.txt")}`, `P : ${join(dir, "work", "sub", "b.txt")}`]);

    const result = await p.run("unregister", "P", join(dir, "work", "a.txt"));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`unregistered P : ${join(dir, "work", "a.txt")}`);
    expect(await listed(q)).toEqual([`P : ${join(dir, "work", "sub", "b.txt")}`]);
  });

  it("prints JSON for scripts", async () => {
    // The map refreshes every second; P registered moments ago.
    const users = await waitFor("Q's map to list P and Q", async () => {
      const parsed = JSON.parse((await q.run("users", "--json")).stdout);
      return parsed.users.length === 2 && parsed;
    });
    expect(users.users.map((u: { user: string }) => u.user)).toEqual(["P", "Q"]);
    expect(users.file).toBe(join(q.home, "users.txt"));
  });

  it("gives a p2p> prompt on a terminal, with users, help and exit", async () => {
    // `script` runs the peer on a pseudo-terminal, as a person would.
    const bin = join(import.meta.dirname, "../../bin/p2p-peer.js");
    const command = [process.execPath, bin, "start", "--tracker", tracker.url, "--home", join(dir, "T"), "--user", "T", "--bind", "127.0.0.1"].join(" ");
    const child = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["pipe", "pipe", "pipe"] });
    let screen = "";
    child.stdout.on("data", (d) => (screen += d));
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await waitFor("the prompt", () => screen.includes("p2p> "));
      child.stdin.write("users\n");
      await waitFor("the user map", () => /Q – 127\.0\.0\.1:\d+/.test(screen) && /T – 127\.0\.0\.1:\d+/.test(screen));
      child.stdin.write("help\n");
      // The help comes from the commands' own definitions, options included.
      await waitFor("the help text", () => screen.includes("commands (each also takes --help):") && screen.includes("exit"));
      expect(screen).toMatch(/download <user> <path> <save> \[--force\] \[--single-source\] \[--json\]/);
      expect(screen).not.toContain("--home");
      child.stdin.write(`list-files\n`);
      await waitFor("the file list", () => screen.includes(`P : ${join(dir, "work", "sub", "b.txt")}`));
      child.stdin.write("exit\n");
      expect(await exited).toBe(0);
      await waitFor("T to leave the tracker", async () => {
        const users = (await (await fetch(`${tracker.http}/api/users`)).json()) as { user: string }[];
        return !users.some((u) => u.user === "T");
      });
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("reports the peer's status", async () => {
    const status = JSON.parse((await q.run("status", "--json")).stdout);
    expect(status).toMatchObject({ user: "Q", trackerConnected: true, offered: 0, home: q.home, tracker: tracker.url });
    const text = (await q.run("status")).stdout;
    expect(text).toContain("user:        Q");
    expect(text).toContain("(connected)");
  });

  it("has --help for every command", async () => {
    for (const command of ["start", "register", "unregister", "list-files", "download", "users", "status"]) {
      const result = await runPeerCli([command, "--help"]);
      expect(result.code, command).toBe(0);
      expect(result.stdout).toContain(`p2p-peer ${command}`);
    }
  });
});
