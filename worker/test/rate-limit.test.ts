/**
 * Each socket's message budget: a flooding socket is told once, then cut off,
 * while everyone else is answered as usual; a socket that slows down is
 * answered again; malformed and large messages cost more.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { BAD_MESSAGE_TOKENS, CLOSE_POLICY_VIOLATION, MAX_MESSAGE_BYTES, SOCKET_TOKEN_BURST, type TrackerReply } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, eventually, file } from "./tracker-socket.ts";

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

/** Sends every message at once, without waiting, then collects the replies up to the first `rate-limited` one. */
async function blast(socket: TrackerSocket, messages: string[]): Promise<TrackerReply[]> {
  for (const message of messages) socket.ws.send(message);
  const replies: TrackerReply[] = [];
  for (;;) {
    const text = await socket.nextWithin(2000);
    if (text === null) return replies;
    const reply = JSON.parse(text) as TrackerReply;
    replies.push(reply);
    if (!reply.ok && reply.error.code === "rate-limited") return replies;
  }
}

const codes = (replies: TrackerReply[]) => replies.map((r) => (r.ok ? "ok" : r.error.code));

describe("message budget", () => {
  it("answers a flood with one rate-limited error, then closes it with 1008, while others are answered", async () => {
    const steady = await TrackerSocket.hello();
    await steady.ok("register", { user: "steady-neighbour", files: [file("/n")] });
    const flooder = await TrackerSocket.hello();
    await flooder.ok("register", { user: "flooder", files: [file("/f")] });

    const replies = await blast(flooder, Array.from({ length: 5000 }, () => "{"));
    const seen = codes(replies);
    // Some malformed messages are answered, then exactly one rate-limited, then nothing.
    expect(seen.at(-1)).toBe("rate-limited");
    expect(seen.slice(0, -1).every((code) => code === "bad-json")).toBe(true);
    expect(seen.length).toBeLessThanOrEqual(SOCKET_TOKEN_BURST / BAD_MESSAGE_TOKENS + 5);
    expect(replies.at(-1)).toMatchObject({ id: null, ok: false, error: { message: expect.stringContaining("budget") } });
    await eventually(async () => flooder.closed, "the flooder to be closed");
    expect(flooder.closeCode).toBe(CLOSE_POLICY_VIOLATION);
    expect(await flooder.nextWithin(0)).toBeNull();

    // The flooder's name and files are gone at once; the neighbour is answered as usual.
    const users = (await steady.ok("list-users", {})).users.map((u: { user: string }) => u.user);
    expect(users).toContain("steady-neighbour");
    expect(users).not.toContain("flooder");
    expect((await api<{ user: string }[]>("/api/files")).map((f) => f.user)).not.toContain("flooder");
    await steady.close();
  });

  it("answers a socket again once it slows down", async () => {
    const peer = await TrackerSocket.hello();
    // Enough malformed messages to run dry, too few to run into the debt that closes a socket.
    const replies = await blast(peer, Array.from({ length: SOCKET_TOKEN_BURST / BAD_MESSAGE_TOKENS + 5 }, () => "{"));
    expect(codes(replies).at(-1)).toBe("rate-limited");
    expect(peer.closed).toBe(false);

    // Asking a few times a second, it is answered again once the bucket has refilled (what is
    // left of the burst may still be read and refused first).
    let answered = false;
    for (let attempt = 0; !answered && attempt < 25; attempt++) {
      peer.ws.send(JSON.stringify({ id: `again-${attempt}`, type: "list-users" }));
      for (let text = await peer.nextWithin(200); text !== null && !answered; text = await peer.nextWithin(200)) {
        answered = (JSON.parse(text) as TrackerReply).ok;
      }
    }
    expect(answered).toBe(true);
    expect(peer.closed).toBe(false);
    await peer.close();
  });

  it("lets a socket send many more well-formed messages than malformed ones", async () => {
    const good = await TrackerSocket.hello();
    const bad = await TrackerSocket.hello();
    const goodReplies = await blast(good, Array.from({ length: 1500 }, (_, i) => JSON.stringify({ id: i, type: "list-users" })));
    const badReplies = await blast(bad, Array.from({ length: 1500 }, () => "{"));
    const answered = (replies: TrackerReply[]) => replies.filter((r) => r.ok || r.error.code !== "rate-limited").length;
    expect(answered(goodReplies)).toBeGreaterThanOrEqual(SOCKET_TOKEN_BURST);
    expect(answered(badReplies)).toBeLessThan(answered(goodReplies) / 5);
    await good.close();
    await bad.close();
  });

  it("charges large messages by their size", async () => {
    const peer = await TrackerSocket.hello();
    // Well-formed requests just under the size limit (the padding is ignored).
    const big = JSON.stringify({ id: 1, type: "list-users", padding: "x".repeat(MAX_MESSAGE_BYTES - 100) });
    const replies = await blast(peer, Array.from({ length: 20 }, () => big));
    expect(codes(replies).at(-1)).toBe("rate-limited");
    expect(replies.filter((r) => r.ok).length).toBeLessThan(10);
    await peer.close();
  });

  it("forgets budgets on eviction, which only ever hands back a full one", async () => {
    const peer = await TrackerSocket.hello();
    expect(codes(await blast(peer, Array.from({ length: SOCKET_TOKEN_BURST / BAD_MESSAGE_TOKENS + 5 }, () => "{"))).at(-1)).toBe("rate-limited");
    // Eviction only follows seconds of silence, longer than a bucket takes to refill.
    await evictDurableObject(trackerStub());
    // The blast's last messages may still be on their way and reach the new instance, which answers
    // them: this request's reply is the one with its id.
    peer.ws.send(JSON.stringify({ id: "after-eviction", type: "list-users" }));
    let reply: TrackerReply;
    do reply = JSON.parse(await peer.next()) as TrackerReply;
    while (reply.id !== "after-eviction");
    expect(reply).toMatchObject({ ok: true, result: { users: expect.any(Array) } });
    await peer.close();
  });
});
