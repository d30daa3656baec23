/**
 * Peers on IPv6 addresses, over ::1: they register, are listed as
 * `[::1]:port` in the user map, and download from each other.
 */
import { randomBytes } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

let dir: string;
let tracker: Tracker;
let alice: PeerProcess;
let bob: PeerProcess;
/** Every peer started, kept as soon as it is up, so one failing to start leaves none running. */
const started: PeerProcess[] = [];
const start = async (...args: Parameters<typeof startPeer>): Promise<PeerProcess> => {
  const peer = await startPeer(...args);
  started.push(peer);
  return peer;
};

const portOf = (peer: PeerProcess): number => Number(/mini-server listening on \[::1\]:(\d+)/.exec(peer.logs())?.[1]);

beforeAll(async () => {
  dir = await makeTempDir("p2p-ipv6-");
  tracker = await startTracker();
  [alice, bob] = await Promise.all([
    start("Alice6", tracker.url, dir, { args: ["--user", "Alice6", "--bind", "::1", "--host", "::1"] }),
    // Bracketed as in a URL: taken as the same address.
    start("Bob6", tracker.url, dir, { args: ["--user", "Bob6", "--bind", "[::1]", "--host", "[::1]"] }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((peer) => peer.kill()));
  await tracker?.stop();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("peers on ::1", () => {
  it("listen on ::1 and are listed by it, bracketed before the port", async () => {
    expect(portOf(alice)).toBeGreaterThan(0);
    const users = (await (await fetch(`${tracker.http}/api/users`)).json()) as unknown[];
    expect(users).toContainEqual(expect.objectContaining({ user: "Alice6", host: "::1", port: portOf(alice) }));
    expect(users).toContainEqual(expect.objectContaining({ user: "Bob6", host: "::1", port: portOf(bob) }));
    const line = `Alice6 – [::1]:${portOf(alice)}`;
    await waitFor("Bob's users.txt to list Alice over IPv6", async () => (await readFile(join(bob.home, "users.txt"), "utf8")).includes(line));
    expect((await bob.run("users")).stdout).toContain(line);
  });

  it("download from each other over IPv6", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(dir, "v6.bin");
    await writeFile(file, content);
    expect((await alice.run("register", "Alice6", file)).code).toBe(0);
    const saved = join(dir, "bob-files", "v6.bin");
    const result = await bob.run("download", "Alice6", file, saved, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect((await readFile(saved)).equals(content)).toBe(true);
    expect(JSON.parse(result.stdout)).toMatchObject({ saved, size: content.length });
    // Registered under Bob's name, at Bob's IPv6 address.
    expect((await alice.run("list-files")).stdout).toContain(`Bob6 : ${saved}`);
  });
});
