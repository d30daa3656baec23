import { PROTOCOL_VERSION } from "@p2p/shared";
/** Peers on IPv6 addresses, as the tracker sees them (CF-Connecting-IP) or as they announce themselves. */
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, file } from "./tracker-socket.ts";

describe("IPv6 peers", () => {
  it("are listed by the IPv6 address Cloudflare saw them connect from", async () => {
    const peer = await TrackerSocket.open({ "CF-Connecting-IP": "2001:db8::7" });
    expect(await peer.ok("hello", { port: 4400, protocol: PROTOCOL_VERSION })).toEqual({ host: "2001:db8::7", port: 4400, protocol: PROTOCOL_VERSION });
    await peer.ok("register", { user: "v6-seen", files: [file("/srv/v6.txt")] });
    expect(await api("/api/users")).toContainEqual({ user: "v6-seen", host: "2001:db8::7", port: 4400, reachable: null });
    await peer.close();
  });

  it("take an IPv6 host from hello, bare; a bracketed one is refused", async () => {
    const peer = await TrackerSocket.open();
    expect(await peer.ok("hello", { port: 4401, host: "::1", protocol: PROTOCOL_VERSION })).toEqual({ host: "::1", port: 4401, protocol: PROTOCOL_VERSION });
    expect(await peer.ok("hello", { port: 4401, host: "fe80::1%eth0", protocol: PROTOCOL_VERSION })).toEqual({ host: "fe80::1%eth0", port: 4401, protocol: PROTOCOL_VERSION });
    expect(await peer.request("hello", { port: 4401, host: "[::1]", protocol: PROTOCOL_VERSION })).toMatchObject({ ok: false, error: { code: "invalid-address" } });
    await peer.ok("register", { user: "v6-hello", files: [] });
    expect((await peer.ok("list-users", {})).users).toContainEqual(expect.objectContaining({ user: "v6-hello", host: "fe80::1%eth0", port: 4401 }));
    await peer.close();
  });
});
