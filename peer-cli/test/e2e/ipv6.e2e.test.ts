/**
 * Peers on IPv6 addresses, over ::1: they register, are listed as
 * `[::1]:port` in the user map, and download from each other.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { waitFor, type PeerProcess } from "../../../scripts/processes.ts";
import { useWorld } from "./world.ts";

const world = useWorld("p2p-ipv6-");
let alice: PeerProcess;
let bob: PeerProcess;

const portOf = (peer: PeerProcess): number => Number(/mini-server listening on \[::1\]:(\d+)/.exec(peer.logs())?.[1]);

beforeAll(async () => {
  [alice, bob] = await Promise.all([
    world.start("Alice6", { args: ["--user", "Alice6", "--bind", "::1", "--host", "::1"] }),
    // Bracketed as in a URL: taken as the same address.
    world.start("Bob6", { args: ["--user", "Bob6", "--bind", "[::1]", "--host", "[::1]"] }),
  ]);
}, 120_000);

describe("peers on ::1", () => {
  it("listen on ::1 and are listed by it, bracketed before the port", async () => {
    expect(portOf(alice)).toBeGreaterThan(0);
    const users = (await (await fetch(`${world.tracker.http}/api/users`)).json()) as unknown[];
    expect(users).toContainEqual(expect.objectContaining({ user: "Alice6", host: "::1", port: portOf(alice) }));
    expect(users).toContainEqual(expect.objectContaining({ user: "Bob6", host: "::1", port: portOf(bob) }));
    const line = `Alice6 – [::1]:${portOf(alice)}`;
    await waitFor("Bob's users.txt to list Alice over IPv6", async () => (await readFile(join(bob.home, "users.txt"), "utf8")).includes(line));
    expect((await bob.run("users")).stdout).toContain(line);
  });

  it("download from each other over IPv6", async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    const file = join(world.dir, "v6.bin");
    await writeFile(file, content);
    expect((await alice.run("register", "Alice6", file)).code).toBe(0);
    const saved = join(world.dir, "bob-files", "v6.bin");
    const result = await bob.run("download", "Alice6", file, saved, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect((await readFile(saved)).equals(content)).toBe(true);
    expect(JSON.parse(result.stdout)).toMatchObject({ saved, size: content.length });
    // Registered under Bob's name, at Bob's IPv6 address.
    expect((await alice.run("list-files")).stdout).toContain(`Bob6 : ${saved}`);
  });
});
