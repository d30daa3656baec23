import { MAX_MESSAGE_BYTES } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, file } from "./tracker-socket.ts";

/** Each bad message gets its specific error, changes nothing, and leaves the socket usable. */
describe("malformed messages", () => {
  const cases: [string, string | ArrayBuffer, string][] = [
    ["broken JSON", "{not json", "bad-json"],
    ["a JSON array", "[1,2]", "bad-message"],
    ["a missing id", JSON.stringify({ type: "list-files" }), "bad-message"],
    ["a missing type", JSON.stringify({ id: 1 }), "bad-message"],
    ["an unknown type", JSON.stringify({ id: 1, type: "delete-everything" }), "unknown-type"],
    ["register without files", JSON.stringify({ id: 1, type: "register", user: "bad" }), "bad-message"],
    ["unregister with no paths", JSON.stringify({ id: 1, type: "unregister", user: "bad", paths: [] }), "bad-message"],
    ["unregister with paths not an array", JSON.stringify({ id: 1, type: "unregister", user: "bad", paths: "/a" }), "bad-message"],
    ["a binary frame", new TextEncoder().encode('{"id":1,"type":"list-files"}').buffer as ArrayBuffer, "bad-message"],
  ];

  for (const [name, message, code] of cases) {
    it(`answers ${name} with ${code}`, async () => {
      const peer = await TrackerSocket.hello();
      await peer.ok("register", { user: "steady", files: [file("/keep")] });
      const before = await peer.ok("list-files", {});

      const reply = await peer.raw(message);
      expect(reply).toMatchObject({ ok: false, error: { code, message: expect.any(String) } });

      expect(peer.closed).toBe(false);
      expect(await peer.ok("list-files", {})).toEqual(before);
      await peer.close();
    });
  }

  it("echoes the id of a readable request that fails", async () => {
    const peer = await TrackerSocket.hello();
    const reply = await peer.raw(JSON.stringify({ id: "req-7", type: "nope" }));
    expect(reply).toMatchObject({ id: "req-7", ok: false });
    const broken = await peer.raw("{");
    expect(broken).toMatchObject({ id: null, ok: false });
    await peer.close();
  });

  it("refuses an oversized message with too-large and keeps the socket", async () => {
    const peer = await TrackerSocket.hello();
    const padding = "x".repeat(MAX_MESSAGE_BYTES);
    const reply = await peer.raw(JSON.stringify({ id: 1, type: "register", user: "big", files: [], padding }));
    expect(reply).toMatchObject({ ok: false, error: { code: "too-large" } });
    expect(peer.closed).toBe(false);
    expect((await peer.ok("list-users", {})).users).not.toContainEqual(expect.objectContaining({ user: "big" }));
    await peer.close();
  });
});
