/**
 * Reachability probes from the real tracker object in workerd to real TCP
 * servers in Node (probe-targets.ts): what the peer is told, what list-users
 * shows, whose address is dialled, and how many probes run at once.
 */
import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import type {} from "./probe-targets-context.ts";
import { TrackerSocket, api, eventually, file } from "./tracker-socket.ts";

const targets = inject("probeTargets");

interface Counts {
  connections: number;
  open: number;
  maxOpen: number;
}

/** What each probe target has seen so far. */
async function seen(): Promise<Record<"answering" | "impostor" | "silent", Counts>> {
  const res = await fetch(`http://127.0.0.1:${targets.stats}/stats`);
  return (await res.json()) as Record<"answering" | "impostor" | "silent", Counts>;
}

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

describe("reachability", () => {
  it("tells a peer whose mini-server answers that others can reach it, and lists it as reachable", async () => {
    const peer = await TrackerSocket.hello(targets.answering);
    expect(await peer.report()).toEqual({
      type: "reachability",
      reachable: true,
      host: "127.0.0.1",
      port: targets.answering,
      reason: "the mini-server answered",
    });
    await peer.ok("register", { user: "reachable-peer", files: [file("/r")] });
    const { users } = await peer.ok("list-users", {});
    expect(users).toContainEqual({ user: "reachable-peer", host: "127.0.0.1", port: targets.answering, reachable: true });
    expect(await api("/api/users")).toContainEqual({ user: "reachable-peer", host: "127.0.0.1", port: targets.answering, reachable: true });
    await peer.close();
  });

  it("says why a peer cannot be reached: nothing listening, or nothing answering in time", async () => {
    const refused = await TrackerSocket.hello(targets.closed);
    expect(await refused.report()).toMatchObject({ reachable: false, reason: "the connection was refused or could not be made" });
    const silent = await TrackerSocket.hello(targets.silent);
    expect(await silent.report()).toMatchObject({ reachable: false, reason: "no answer within 2 s" });
    await silent.ok("register", { user: "silent-peer", files: [] });
    expect((await silent.ok("list-users", {})).users).toContainEqual(expect.objectContaining({ user: "silent-peer", reachable: false }));
    await refused.close();
    await silent.close();
  });

  it("does not count another service on the port as the peer's mini-server", async () => {
    const peer = await TrackerSocket.hello(targets.impostor);
    expect(await peer.report()).toMatchObject({ reachable: false, reason: "something else answered on that port, not this peer's mini-server" });
    await peer.close();
  });

  it("dials the address it saw the peer come from, never a host the peer claims", async () => {
    const before = (await seen()).answering.connections;
    // Seen at 127.0.0.3, where nothing listens; it claims 127.0.0.1, where the answering server is.
    const peer = await TrackerSocket.open({ "CF-Connecting-IP": "127.0.0.3" });
    await peer.ok("hello", { port: targets.answering, host: "127.0.0.1", protocol: 2 });
    expect(await peer.report()).toMatchObject({ reachable: false, host: "127.0.0.3", port: targets.answering, advertised: "127.0.0.1" });
    expect((await seen()).answering.connections).toBe(before);
    await peer.close();
  });

  it("leaves an address off this machine unprobed where the tracker is told to (PROBE_LOOPBACK_ONLY, as in every test)", async () => {
    const peer = await TrackerSocket.open({ "CF-Connecting-IP": "203.0.113.7" });
    await peer.ok("hello", { port: 4000, protocol: 2 });
    expect(await peer.report()).toMatchObject({ reachable: null, host: "203.0.113.7", reason: expect.stringContaining("loopback addresses only") });
    await peer.close();
  });

  it("runs at most 6 probes at once and still probes every peer", async () => {
    // An earlier test's probe may still be closing on the target's side: it would count as a seventh.
    await eventually(async () => (await seen()).silent.open === 0, "earlier probes of the silent target to close");
    const before = (await seen()).silent.connections;
    const peers = await Promise.all(Array.from({ length: 10 }, () => TrackerSocket.hello(targets.silent)));
    const reports = await Promise.all(peers.map((p) => p.report()));
    expect(reports.every((r) => r.reachable === false)).toBe(true);
    const after = (await seen()).silent;
    expect(after.connections - before).toBe(10);
    expect(after.maxOpen).toBeLessThanOrEqual(6);
    await Promise.all(peers.map((p) => p.close()));
  });

  it("drops a waiting probe whose socket closed before its turn", async () => {
    const before = (await seen()).silent.connections;
    const busy = await Promise.all(Array.from({ length: 6 }, () => TrackerSocket.hello(targets.silent)));
    const gone = await TrackerSocket.hello(targets.silent);
    await gone.close();
    // Probes are taken in order: once a later peer has its answer, the closed one's turn has passed.
    const later = await TrackerSocket.hello(targets.answering);
    expect(await later.report()).toMatchObject({ reachable: true });
    await Promise.all(busy.map((p) => p.report()));
    expect((await seen()).silent.connections - before).toBe(6);
    await Promise.all([...busy, later].map((p) => p.close()));
  });

  it("moves the catalog's version when a result comes in, so syncing peers learn it from the change set", async () => {
    const watcher = await TrackerSocket.hello(targets.answering);
    await watcher.report();
    // The silent target answers no probe for 2 s: the register is in before the result.
    const slow = await TrackerSocket.hello(targets.silent);
    await slow.ok("register", { user: "slow-to-probe", files: [] });
    const before = await watcher.ok("sync", {});
    expect(before.snapshot.users).toContainEqual({ user: "slow-to-probe", host: "127.0.0.1", port: targets.silent, reachable: null });

    expect(await slow.report()).toMatchObject({ reachable: false });
    const after = await watcher.ok("sync", { since: before.version });
    expect(after.version).not.toBe(before.version);
    expect(after.changes.users).toEqual([{ user: "slow-to-probe", host: "127.0.0.1", port: targets.silent, reachable: false }]);
    const page = await watcher.ok("list-users", { limit: 1000 });
    expect(page.users).toContainEqual({ user: "slow-to-probe", host: "127.0.0.1", port: targets.silent, reachable: false });
    await slow.close();
    await watcher.close();
  });

  it("keeps each result across an eviction: list-users still shows it", async () => {
    const up = await TrackerSocket.hello(targets.answering);
    const down = await TrackerSocket.hello(targets.closed);
    expect(await up.report()).toMatchObject({ reachable: true });
    expect(await down.report()).toMatchObject({ reachable: false });
    await up.ok("register", { user: "evicted-up", files: [] });
    await down.ok("register", { user: "evicted-down", files: [] });

    await evictDurableObject(trackerStub());

    const users = await api<{ user: string; reachable: boolean | null }[]>("/api/users");
    expect(users).toContainEqual(expect.objectContaining({ user: "evicted-up", reachable: true }));
    expect(users).toContainEqual(expect.objectContaining({ user: "evicted-down", reachable: false }));
    await up.close();
    await down.close();
  });
});
