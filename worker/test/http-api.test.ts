import { exports } from "cloudflare:workers";
import { PROTOCOL_VERSION } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, file } from "./tracker-socket.ts";

describe("HTTP API", () => {
  it("reports health", async () => {
    const res = await exports.default.fetch("http://tracker.test/health");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it("answers a plain request to /ws with 426", async () => {
    const res = await exports.default.fetch("http://tracker.test/ws");
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ error: { code: "upgrade-required" } });
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await exports.default.fetch("http://tracker.test/nope");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toMatchObject({ error: { code: "not-found", message: expect.stringContaining("/nope") } });
  });

  it("lists users and files as JSON", async () => {
    const peer = await TrackerSocket.hello(4100);
    await peer.ok("register", { user: "http-api", files: [file("/srv/b.txt", 5, "b"), file("/srv/a.txt", 3, "a")] });

    const files = await api<unknown[]>("/api/files");
    expect(files.filter((f: any) => f.user === "http-api")).toEqual([
      { user: "http-api", path: "/srv/a.txt", size: 3, root: "a".repeat(64) },
      { user: "http-api", path: "/srv/b.txt", size: 5, root: "b".repeat(64) },
    ]);
    const users = await api<unknown[]>("/api/users");
    expect(users).toContainEqual(expect.objectContaining({ user: "http-api", host: "127.0.0.1", port: 4100 }));
    await peer.close();
  });

  it("answers exactly what list-files and list-users answer, as JSON", async () => {
    const peer = await TrackerSocket.hello(4101);
    await peer.ok("register", { user: "http-same", files: [file("/srv/c.txt", 7, "c")] });
    for (const [path, type, key] of [["/api/files", "list-files", "files"], ["/api/users", "list-users", "users"]] as const) {
      const res = await exports.default.fetch(`http://tracker.test${path}`);
      expect(res.headers.get("content-type")).toContain("application/json");
      expect(await res.json()).toEqual((await peer.ok(type, {}))[key]);
    }
    await peer.close();
  });

  it("takes the peer's address from CF-Connecting-IP", async () => {
    const peer = await TrackerSocket.open({ "CF-Connecting-IP": "203.0.113.9" });
    expect(await peer.ok("hello", { port: 4200, protocol: PROTOCOL_VERSION })).toEqual({ host: "203.0.113.9", port: 4200, protocol: PROTOCOL_VERSION });
    await peer.close();
  });

  it("does not let a client forge its address through the internal header", async () => {
    const peer = await TrackerSocket.open({ "X-P2P-Peer-Host": "198.51.100.1", "CF-Connecting-IP": "203.0.113.10" });
    expect(await peer.ok("hello", { port: 4201, protocol: PROTOCOL_VERSION })).toEqual({ host: "203.0.113.10", port: 4201, protocol: PROTOCOL_VERSION });
    await peer.close();
  });
});
