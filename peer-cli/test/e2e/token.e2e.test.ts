/**
 * A tracker that needs an access token (P2P_TOKEN set), with real peers: the
 * right token works from --token and from $P2P_TOKEN; a missing or wrong one
 * stops `p2p-peer start` with a message that says what to fix (exit 1) and
 * changes nothing on the tracker; a token the tracker stops accepting turns
 * commands into that same refusal.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, makeTempDir, runPeerCli, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

const TOKEN = "9b3e7f0c2a6d41e8b5c9f1a3d7e2c6b0";

let dir: string;
let port: number;
let tracker: Tracker;
const peers: PeerProcess[] = [];

const withToken = { Authorization: `Bearer ${TOKEN}` };
const api = async <T,>(path: string): Promise<T> => (await (await fetch(`${tracker.http}${path}`, { headers: withToken })).json()) as T;
const users = async () => (await api<Array<{ user: string }>>("/api/users")).map((u) => u.user).sort();

/** `p2p-peer start` that is expected to give up: its exit code and what it printed. */
const startRefused = (name: string, args: string[], env: Record<string, string> = {}) =>
  runPeerCli(["start", "--tracker", tracker.url, "--home", join(dir, name), "--bind", "127.0.0.1", "--user", name, ...args], env);

beforeAll(async () => {
  dir = await makeTempDir("p2p-token-");
  port = await freePort();
  tracker = await startTracker({ port, stateDir: join(dir, "tracker-state"), vars: { P2P_TOKEN: TOKEN } });
}, 120_000);

afterAll(async () => {
  await Promise.all(peers.map((peer) => peer.kill()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("a tracker with P2P_TOKEN set", () => {
  it("takes peers with the token, from --token or from $P2P_TOKEN, and they exchange as usual", async () => {
    const alice = await startPeer("Alice", tracker.url, dir, { args: ["--user", "Alice", "--token", TOKEN] });
    peers.push(alice);
    const bob = await startPeer("Bob", tracker.url, dir, { args: ["--user", "Bob"], env: { P2P_TOKEN: TOKEN } });
    peers.push(bob);
    const file = join(dir, "shared.txt");
    await writeFile(file, "for token holders\n");
    expect((await alice.run("register", "Alice", file)).code).toBe(0);
    expect((await bob.run("list-files")).stdout).toContain(`Alice : ${file}`);
    await waitFor("Bob to learn Alice's address", async () => (await bob.run("users")).stdout.includes("Alice"));
    const saved = join(dir, "bob-files", "shared.txt");
    const downloaded = await bob.run("download", "Alice", file, saved);
    expect(downloaded.code, downloaded.stderr).toBe(0);
    expect(await users()).toEqual(["Alice", "Bob"]);
  });

  it("stops a peer without a token, saying how to give one, and lists nothing of it", async () => {
    const result = await startRefused("Nobody", [], { P2P_TOKEN: "" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the tracker at ${tracker.url} needs an access token: pass --token or set $P2P_TOKEN`);
    expect(await users()).not.toContain("Nobody");
  });

  it("stops a peer with a wrong token, saying the tracker refused it, and changes nothing", async () => {
    const before = { users: await users(), files: await api<unknown[]>("/api/files") };
    const result = await startRefused("Mallory", ["--token", `${TOKEN.slice(0, -1)}1`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the tracker at ${tracker.url} refused the token: check --token or $P2P_TOKEN`);
    expect({ users: await users(), files: await api<unknown[]>("/api/files") }).toEqual(before);
  });

  it("refuses a token that cannot be sent as it is, as a usage error", async () => {
    const result = await startRefused("Spacey", ["--token", "two words"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("visible ASCII characters without spaces");
  });

  it("turns commands into the refusal once the tracker stops accepting the peer's token", async () => {
    const alice = peers[0]!;
    await tracker.stop();
    tracker = await startTracker({ port, stateDir: join(dir, "tracker-state"), vars: { P2P_TOKEN: "a-new-token-the-peers-do-not-have" } });
    const refused = await waitFor("Alice's reconnects to be refused", async () => {
      const result = await alice.run("list-files");
      return result.code === 1 ? result : undefined;
    });
    expect(refused.stderr).toContain("refused the token");
    expect(alice.logs()).toContain("refused the token: check --token or $P2P_TOKEN; retrying");
  });
});
