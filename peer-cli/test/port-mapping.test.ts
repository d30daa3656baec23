/**
 * Port mapping against a fake home router on loopback (fake-gateway.ts):
 * found with SSDP, mapped with UPnP's SOAP actions or NAT-PMP, renewed
 * before its lease ends, removed on stop; refusals and silence say what to do.
 */
import dgram from "node:dgram";
import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../../scripts/processes.ts";
import { PeerError } from "../src/errors.ts";
import { mapPort, type PortMapOptions, type PortMapping } from "../src/port-map/port-mapping.ts";
import { startFakeRouter, type FakeRouter, type FakeRouterOptions } from "./fake-gateway.ts";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function router(options: FakeRouterOptions = {}): Promise<FakeRouter> {
  const fake = await startFakeRouter(options);
  cleanups.push(() => fake.close());
  return fake;
}

/** A UDP port on loopback where nothing answers: a LAN without a UPnP router. */
async function silentUdp(): Promise<{ host: string; port: number }> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  cleanups.push(() => void socket.close());
  return { host: "127.0.0.1", port: socket.address().port };
}

/** The error a mapping fails with: always a PeerError that exits 1 (refused or failed). */
async function failure(promise: Promise<unknown>): Promise<PeerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PeerError);
  expect((error as PeerError).exitCode).toBe(1);
  return error as PeerError;
}

const logs: string[] = [];
async function map(options: Partial<PortMapOptions> & Pick<PortMapOptions, "targets">): Promise<PortMapping> {
  // 2 s for a fake router to answer even a busy test process; tests where none answers pass a shorter wait.
  const mapping = await mapPort({ internalPort: 40_123, log: (line) => logs.push(line), discoverMs: 2000, requestMs: 2000, ...options });
  cleanups.push(() => mapping.stop());
  return mapping;
}

describe("UPnP", () => {
  it("finds the router with SSDP, forwards the mini-server's port to this machine and tells its public address", async () => {
    const fake = await router();
    const mapping = await map({ targets: { ssdp: fake.ssdp, natPmp: null } });
    expect(mapping).toMatchObject({ protocol: "UPnP", gateway: "127.0.0.1", externalHost: "198.51.100.7", externalPort: 40_123, internalPort: 40_123, leaseSeconds: 3600 });
    expect(fake.mappings.get(40_123)).toEqual({ protocol: "UPnP", internalClient: "127.0.0.1", internalPort: 40_123, lease: 3600 });
  });

  it("removes the mapping on stop", async () => {
    const fake = await router();
    const mapping = await map({ targets: { ssdp: fake.ssdp, natPmp: null } });
    await mapping.stop();
    expect(fake.mappings.size).toBe(0);
    expect(fake.calls.at(-1)).toEqual({ action: "DeletePortMapping", args: { NewRemoteHost: "", NewExternalPort: "40123", NewProtocol: "TCP" } });
  });

  it("renews the mapping before its lease ends", async () => {
    const fake = await router();
    await map({ targets: { ssdp: fake.ssdp, natPmp: null }, leaseSeconds: 2 });
    // Renewed at half the lease: a second and a third AddPortMapping for the same ports.
    await waitFor("two renewals", () => fake.calls.filter((c) => c.action === "AddPortMapping").length >= 3, 10_000);
    const adds = fake.calls.filter((c) => c.action === "AddPortMapping");
    expect(new Set(adds.map((c) => `${c.args.NewExternalPort}→${c.args.NewInternalPort}`))).toEqual(new Set(["40123→40123"]));
    expect(fake.mappings.has(40_123)).toBe(true);
  });

  it("takes another public port when the router has the mini-server's port mapped to someone else", async () => {
    const fake = await router({ refuse: { code: 718, description: "ConflictInMappingEntry", ports: [40_123] } });
    const mapping = await map({ targets: { ssdp: fake.ssdp, natPmp: null } });
    expect(mapping.externalPort).not.toBe(40_123);
    expect(fake.mappings.get(mapping.externalPort)).toMatchObject({ internalPort: 40_123 });
  });

  it("settles for a permanent mapping where the router allows no lease, and still removes it on stop", async () => {
    const fake = await router({ permanentOnly: true });
    const mapping = await map({ targets: { ssdp: fake.ssdp, natPmp: null } });
    expect(mapping.leaseSeconds).toBe(0);
    expect(fake.mappings.get(40_123)?.lease).toBe(0);
    await mapping.stop();
    expect(fake.mappings.size).toBe(0);
  });

  it("fails with the router's refusal and what to do about it (exit 1)", async () => {
    const fake = await router({ refuse: { code: 606, description: "Action not authorized" } });
    const error = await failure(map({ targets: { ssdp: fake.ssdp, natPmp: null } }));
    expect(error.code).toBe("port-map-failed");
    expect(error.message).toContain("the router refused AddPortMapping: not authorised");
    expect(error.message).toContain("Turn on UPnP or NAT-PMP in the router's settings, or forward TCP port 40123 to this machine by hand");
  });

  it("ignores an SSDP answer that points to another address than its sender", async () => {
    // The description URL is somewhere else than the device that answered: never fetched.
    const fake = await router({ location: "http://127.0.0.9:1/rootDesc.xml" });
    const error = await failure(map({ targets: { ssdp: fake.ssdp, natPmp: null }, discoverMs: 300 }));
    expect(error.message).toContain("UPnP: no router answered the search within 0.3 s");
    expect(fake.calls).toEqual([]);
  });
});

describe("NAT-PMP", () => {
  it("is used when no UPnP router answers: maps, tells the public address, and removes the mapping on stop", async () => {
    const fake = await router();
    const mapping = await map({ targets: { ssdp: await silentUdp(), natPmp: fake.natPmp }, discoverMs: 300 });
    expect(mapping).toMatchObject({ protocol: "NAT-PMP", externalHost: "198.51.100.7", externalPort: 40_123, leaseSeconds: 3600 });
    expect(fake.mappings.get(40_123)).toMatchObject({ protocol: "NAT-PMP", internalPort: 40_123 });
    await mapping.stop();
    expect(fake.mappings.size).toBe(0);
    expect(fake.natPmpRequests.at(-1)).toEqual([2, 40_123, 0, 0]);
  });

  it("fails naming what each protocol said when neither maps the port", async () => {
    const fake = await router({ natPmpResult: 2 });
    const error = await failure(map({ targets: { ssdp: await silentUdp(), natPmp: fake.natPmp }, discoverMs: 300 }));
    expect(error.code).toBe("port-map-failed");
    expect(error.message).toContain("tried UPnP and NAT-PMP");
    expect(error.message).toContain("UPnP: no router answered the search");
    expect(error.message).toContain("NAT-PMP may be turned off in the router's settings");
  });
});
