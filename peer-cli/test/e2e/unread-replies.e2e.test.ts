/**
 * A client that asks for the whole listing again and again and never reads
 * a reply (a real `wrangler dev` tracker, a raw TCP WebSocket from this
 * process that stops reading after the upgrade). Its replies would pile up
 * in the tracker's memory; the tracker closes it instead, and forgets its
 * user, while everyone else is answered.
 */
import { randomBytes } from "node:crypto";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTracker, waitFor, type Tracker } from "../../../scripts/processes.ts";

/** A masked text frame, as a client must send it. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const length = payload.length;
  const head =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : length < 65_536
        ? Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255])
        : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), Buffer.from(new BigUint64Array([BigInt(length)]).buffer).reverse()]);
  return Buffer.concat([head, mask, payload.map((byte, i) => byte ^ mask[i % 4]!)]);
}

/** Upgrades a raw TCP connection to a WebSocket, then never reads from it again. */
async function nonReader(tracker: Tracker): Promise<Socket> {
  const socket = connect(tracker.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${tracker.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const head = await new Promise<string>((resolve) => socket.once("data", (data) => resolve(String(data))));
  expect(head).toMatch(/^HTTP\/1\.1 101/);
  socket.pause();
  return socket;
}

/** A well-behaved client: one request at a time, replies read. */
async function request(tracker: Tracker, body: object): Promise<{ ok: boolean }> {
  const ws = new WebSocket(tracker.url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", reject, { once: true });
  });
  const reply = await new Promise<{ ok: boolean }>((resolve) => {
    ws.addEventListener("message", (event) => resolve(JSON.parse(String(event.data)) as { ok: boolean }), { once: true });
    ws.send(JSON.stringify({ id: 1, ...body }));
  });
  ws.close();
  return reply;
}

let tracker: Tracker;
const holders: WebSocket[] = [];

beforeAll(async () => {
  tracker = await startTracker();
  // About 3 MB of listing: three users, each with 900 KB of paths (a message stays under 1 MiB).
  for (let u = 0; u < 3; u++) {
    const ws = new WebSocket(tracker.url);
    await new Promise((resolve) => ws.addEventListener("open", resolve, { once: true }));
    holders.push(ws);
    const replies: string[] = [];
    ws.addEventListener("message", (event) => replies.push(String(event.data)));
    const files = Array.from({ length: 1000 }, (_, i) => ({ path: `/unread/${u}/${String(i).padStart(4, "0")}/`.padEnd(900, "p"), size: 1, root: "e".repeat(64) }));
    ws.send(JSON.stringify({ id: 1, type: "hello", port: 9, protocol: 2 }));
    ws.send(JSON.stringify({ id: 2, type: "register", user: `holder${u}`, files }));
    await waitFor(`holder${u}'s register to be answered`, async () => replies.some((r) => r.startsWith('{"id":2')), 10_000);

  }
}, 60_000);

afterAll(async () => {
  for (const ws of holders) ws.close();
  await tracker?.stop();
});

describe("a client that never reads its replies", () => {
  it("is closed and its user forgotten before its replies pile up, while others are answered", async () => {
    const socket = await nonReader(tracker);
    socket.write(frame(JSON.stringify({ id: 1, type: "hello", port: 9, protocol: 2 })));
    socket.write(frame(JSON.stringify({ id: 2, type: "register", user: "nonreader", files: [] })));
    const users = async () => ((await (await fetch(`${tracker.http}/api/users`)).json()) as { user: string }[]).map((u) => u.user);
    await waitFor("the non-reader to be registered", async () => (await users()).includes("nonreader"), 10_000);

    // 25 whole listings of 3 MB, paced within the message budget: far past what the tracker keeps unsent for one socket.
    for (let i = 0; i < 25 && !socket.destroyed; i++) {
      socket.write(frame(JSON.stringify({ id: 10 + i, type: "list-files" })));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await waitFor("the non-reader's user to be forgotten", async () => !(await users()).includes("nonreader"), 15_000);
    expect(await request(tracker, { type: "list-users" })).toMatchObject({ ok: true });
    socket.destroy();
  }, 60_000);
});
