/**
 * Property test inside workerd: random and malformed messages on a real socket
 * never change the tracker's state, always get a specific error, and never
 * close the socket. Strangers' messages each go on a socket of their own: back
 * to back on one socket they would be a flood, and the message budget
 * (rate-limit.test.ts) would cut it off.
 */
import fc from "fast-check";
import { BAD_MESSAGE_TOKENS, ERROR_CODES, REQUEST_TYPES, SOCKET_TOKEN_BURST } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, file } from "./tracker-socket.ts";

/** Messages aimed at the name "steady": a register with broken entries, an unregister with unprintable paths. */
const atSteady = fc.oneof(
  fc.record({ id: fc.nat(), type: fc.constant("register"), user: fc.constant("steady"), files: fc.array(fc.anything(), { minLength: 1, maxLength: 3 }) }).map((m) => JSON.stringify(m)),
  fc.record({ id: fc.nat(), type: fc.constant("unregister"), user: fc.constant("steady"), paths: fc.array(fc.string({ unit: "binary" }).map((s) => `/keep/${s}\u001b`), { minLength: 1, maxLength: 3 }) }).map((m) => JSON.stringify(m)),
);

/** Messages that are never valid requests: not JSON, wrong shapes, bad fields. */
const hostile = fc.oneof(
  fc.string().filter((s) => {
    try {
      JSON.parse(s);
      return false;
    } catch {
      return true;
    }
  }),
  fc.jsonValue().filter((v) => typeof v !== "object" || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
  fc.record({ id: fc.nat(), type: fc.string().filter((t) => !(REQUEST_TYPES as readonly string[]).includes(t)) }).map((m) => JSON.stringify(m)),
  fc.record({ id: fc.nat(), type: fc.constant("register"), user: fc.string().filter((u) => !/^[A-Za-z0-9._-]{1,64}$/.test(u)), files: fc.constant([]) }).map((m) => JSON.stringify(m)),
  fc.record({ id: fc.nat(), type: fc.constant("unregister"), user: fc.constant("someone-else"), paths: fc.array(fc.string(), { maxLength: 3 }) }).map((m) => JSON.stringify(m)),
  fc.record({ id: fc.nat(), type: fc.constant("hello"), protocol: fc.constant(2), port: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 65536 }), fc.double(), fc.string()) }).map((m) => JSON.stringify(m)),
  atSteady,
);

describe("hostile input", () => {
  it("never changes state, always gets a specific error, never closes the socket", async () => {
    const peer = await TrackerSocket.hello(9100);
    await peer.ok("register", { user: "steady", files: [file("/keep/a"), file("/keep/b")] });
    const before = JSON.stringify([await peer.ok("list-files", {}), await peer.ok("list-users", {})]);

    const refusedSpecifically = async (socket: TrackerSocket, message: string) => {
      const reply = await socket.raw(message);
      if (reply.ok) throw new Error(`accepted a hostile message: ${message.slice(0, 200)}`);
      expect(ERROR_CODES).toContain(reply.error.code);
      expect(reply.error.code).not.toBe("rate-limited");
      expect(socket.closed).toBe(false);
    };
    // From strangers, each message on a fresh socket of its own.
    await fc.assert(
      fc.asyncProperty(hostile, async (message) => {
        const stranger = await TrackerSocket.hello(9101);
        await refusedSpecifically(stranger, message);
        await stranger.close();
      }),
      { numRuns: 300 },
    );
    // From the socket that holds "steady", at its own name: as many malformed messages as its budget takes in a burst.
    await fc.assert(
      fc.asyncProperty(atSteady, (message) => refusedSpecifically(peer, message)),
      { numRuns: Math.floor(SOCKET_TOKEN_BURST / BAD_MESSAGE_TOKENS) - 2 },
    );

    const after = JSON.stringify([await peer.ok("list-files", {}), await peer.ok("list-users", {})]);
    expect(after).toBe(before);
    await peer.close();
  }, 30_000);
});
