/**
 * `p2p-peer start --port-map` as a user runs it, against a real `wrangler
 * dev` tracker and a fake home router on loopback (P2P_TEST_SSDP points the
 * peer's SSDP search at it; nothing is sent to the LAN): the mapped port is
 * what the tracker lists and probes, the mapping goes on Ctrl-C, and a
 * router that refuses is said plainly (exit 1 only with --require-port-map).
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, runPeerCli, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";
import { startFakeRouter, type FakeRouter } from "../fake-gateway.ts";

let dir: string;
let tracker: Tracker;
const routers: FakeRouter[] = [];
const started: PeerProcess[] = [];

const router = async (options: Parameters<typeof startFakeRouter>[0]): Promise<FakeRouter> => {
  const fake = await startFakeRouter(options);
  routers.push(fake);
  return fake;
};
const ssdpOf = (fake: FakeRouter) => ({ P2P_TEST_SSDP: `${fake.ssdp.host}:${fake.ssdp.port}` });

beforeAll(async () => {
  dir = await makeTempDir("p2p-portmap-");
  tracker = await startTracker();
}, 120_000);

afterAll(async () => {
  await Promise.all(started.map((peer) => peer.kill()));
  await Promise.all(routers.map((r) => r.close()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("start --port-map", () => {
  it("maps the mini-server's port on the router, advertises it, and removes it on Ctrl-C", { timeout: 60_000 }, async () => {
    // The fake's public address is loopback, so the tracker's probe of the mapped port reaches the mini-server.
    const fake = await router({ externalAddress: "127.0.0.1" });
    const peer = await startPeer("Mapped", tracker.url, dir, { args: ["--user", "Mapped", "--port-map"], env: ssdpOf(fake) });
    started.push(peer);
    const port = peer.miniServerPort();
    expect(peer.logs()).toContain(`port mapping: the router at 127.0.0.1 (UPnP) forwards public port ${port} at 127.0.0.1 to this mini-server's port ${port}`);
    expect(fake.mappings.get(port)).toMatchObject({ internalClient: "127.0.0.1", internalPort: port });

    await waitFor("the tracker's verdict", () => peer.logs().includes("reachable: the tracker connected"));
    const status = await peer.run("status");
    expect(status.stdout).toContain(`port map:    UPnP, router 127.0.0.1 forwards 127.0.0.1:${port} to port ${port}`);
    const users = (await (await fetch(`${tracker.http}/api/users`)).json()) as unknown[];
    expect(users).toContainEqual({ user: "Mapped", host: "127.0.0.1", port, reachable: true });

    // A graceful stop takes seconds (the tracker's close, then the router's answer): give it 30 before a SIGKILL.
    await peer.kill("SIGINT", 30_000);
    expect(peer.child.exitCode).toBe(0);
    expect(fake.mappings.size).toBe(0);
    expect(peer.logs()).toContain(`port mapping: removed public port ${port} from the router at 127.0.0.1`);
  });

  it("starts all the same when the router refuses, saying why and what to do", async () => {
    const fake = await router({ refuse: { code: 606, description: "Action not authorized" } });
    const peer = await startPeer("Refused", tracker.url, dir, { args: ["--port-map"], env: ssdpOf(fake) });
    started.push(peer);
    expect(peer.logs()).toContain("port mapping failed: could not map a port on the router (tried UPnP): the router refused AddPortMapping: not authorised");
    expect(peer.logs()).toContain("The peer runs without it");
    const status = await peer.run("status");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("port map:    failed: could not map a port on the router");
  });

  it("with --require-port-map, stops with exit 1 when the router refuses", async () => {
    const fake = await router({ refuse: { code: 606, description: "Action not authorized" } });
    const result = await runPeerCli(["start", "--tracker", tracker.url, "--home", join(dir, "Required"), "--bind", "127.0.0.1", "--require-port-map"], ssdpOf(fake));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("could not map a port on the router (tried UPnP): the router refused AddPortMapping: not authorised");
    expect(result.stderr).toContain("Turn on UPnP or NAT-PMP in the router's settings");
  });
});
