/**
 * Reachability with a real `wrangler dev` tracker and real peers: the
 * tracker connects back to each peer's mini-server at the address it saw
 * (127.0.0.1). Reach listens there; Lan listens on 127.0.0.2 only and
 * advertises it, like a peer on a LAN the tracker cannot see into: the
 * tracker cannot reach it, says so, and others can still download from it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { waitFor, type PeerProcess } from "../../../scripts/processes.ts";
import { useWorld } from "./world.ts";

const world = useWorld("p2p-reach-");
let reach: PeerProcess;
let lan: PeerProcess;


beforeAll(async () => {
  [reach, lan] = await Promise.all([
    world.start("Reach", { args: ["--user", "Reach"] }),
    world.start("Lan", { args: ["--user", "Lan", "--bind", "127.0.0.2", "--host", "127.0.0.2"] }),
  ]);
}, 120_000);

describe("reachability", () => {
  it("tells a peer the tracker reached that others can download from it, in its log and in status", async () => {
    await waitFor("Reach to hear from the tracker", () => reach.logs().includes("reachable: the tracker connected to this peer's mini-server"));
    const status = await reach.run("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`reachable: +yes, at 127\\.0\\.0\\.1:${reach.miniServerPort()}`));
    const json = JSON.parse((await reach.run("status", "--json")).stdout);
    expect(json.reachability.report).toMatchObject({ reachable: true, host: "127.0.0.1", port: reach.miniServerPort() });
  });

  it("tells a peer it could not reach plainly, with what to do, and that its advertised address was not checked", async () => {
    await waitFor("Lan to hear from the tracker", () => lan.logs().includes("NOT reachable"));
    expect(lan.logs()).toContain(`the tracker could not connect to this peer's mini-server at 127.0.0.1:${lan.miniServerPort()}`);
    expect(lan.logs()).toContain("--port-map");
    expect(lan.logs()).toContain("The address other peers are given, 127.0.0.2, was not checked");
    const status = await lan.run("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/reachable: +NO/);
    expect(status.stdout).toContain(`forward TCP port ${lan.miniServerPort()}`);
  });

  it("lists reachability in users --json and list-users, while users.txt keeps its line format", async () => {
    const users = await waitFor("Reach's map to know both verdicts", async () => {
      const parsed = JSON.parse((await reach.run("users", "--json")).stdout) as { users: { user: string; reachable: boolean | null }[] };
      return parsed.users.length === 2 && parsed.users.every((u) => u.reachable !== null) && parsed.users;
    });
    expect(users).toEqual([
      { user: "Lan", host: "127.0.0.2", port: lan.miniServerPort(), reachable: false },
      { user: "Reach", host: "127.0.0.1", port: reach.miniServerPort(), reachable: true },
    ]);
    expect(await readFile(join(reach.home, "users.txt"), "utf8")).toBe(`Lan – 127.0.0.2:${lan.miniServerPort()}\nReach – 127.0.0.1:${reach.miniServerPort()}\n`);
    const plain = await reach.run("users");
    expect(plain.stdout).toBe(`Lan – 127.0.0.2:${lan.miniServerPort()}\nReach – 127.0.0.1:${reach.miniServerPort()}\n`);
    expect(plain.stderr).toContain("the tracker could not connect to Lan");
  });

  it("still downloads from a peer the tracker could not reach: its view is not the whole network's", async () => {
    const file = join(world.dir, "lan.txt");
    await writeFile(file, "served on the LAN\n");
    expect((await lan.run("register", "Lan", file)).code).toBe(0);
    const saved = join(world.dir, "got", "lan.txt");
    const result = await reach.run("download", "Lan", file, saved);
    expect(result.code, result.stderr).toBe(0);
    expect(await readFile(saved, "utf8")).toBe("served on the LAN\n");
  });
});
