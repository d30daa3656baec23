/**
 * When storage refuses a batch the tracker already answered for, memory and
 * storage would disagree. The tracker starts over instead: it forgets
 * everyone, closes every socket with CLOSE_STORAGE_FAILED, and the peers
 * register again; memory and storage then agree, across an eviction too.
 * The failure is real: a trigger makes SQLite refuse inserts, as a full disk would.
 */
import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { CLOSE_STORAGE_FAILED } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, eventually, file } from "./tracker-socket.ts";

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

const sql = (query: string) =>
  runInDurableObject(trackerStub(), (_instance, state) => state.storage.sql.exec<Record<string, string>>(query).toArray());

/** (user, path) pairs as the HTTP API lists them and as storage holds them. */
const listed = async () => (await api<{ user: string; path: string }[]>("/api/files")).map((f) => `${f.user}:${f.path}`);
const stored = async () => (await sql("SELECT user, path FROM files ORDER BY user, path")).map((r) => `${r.user}:${r.path}`);

describe("a failed storage batch", () => {
  it("closes every socket, forgets everyone, and lets peers register again with memory and storage agreeing", async () => {
    const a = await TrackerSocket.hello();
    const b = await TrackerSocket.hello();
    await a.ok("register", { user: "store-a", files: [file("/a1")] });
    await b.ok("register", { user: "store-b", files: [file("/b1")] });
    await eventually(async () => (await stored()).length === 2, "the first batch to be stored");

    await sql("CREATE TRIGGER refuse_files BEFORE INSERT ON files BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    try {
      // Answered from memory at once; the batch behind it is refused a moment later.
      expect(await a.ok("register", { user: "store-a", files: [file("/a2")] })).toMatchObject({ total: 2 });
      await eventually(async () => a.closed && b.closed, "every socket to be closed");
      expect([a.closeCode, b.closeCode]).toEqual([CLOSE_STORAGE_FAILED, CLOSE_STORAGE_FAILED]);
      expect(await listed()).toEqual([]);
      expect(await stored()).toEqual([]);
      expect(await sql("SELECT user FROM users")).toEqual([]);
    } finally {
      await sql("DROP TRIGGER IF EXISTS refuse_files");
    }

    // Storage works again: the peers reconnect and register what they offer.
    const a2 = await TrackerSocket.hello();
    const b2 = await TrackerSocket.hello();
    await a2.ok("register", { user: "store-a", files: [file("/a1"), file("/a2")] });
    await b2.ok("register", { user: "store-b", files: [file("/b1")] });
    const expected = ["store-a:/a1", "store-a:/a2", "store-b:/b1"];
    expect(await listed()).toEqual(expected);
    await eventually(async () => JSON.stringify(await stored()) === JSON.stringify(expected), "storage to match what is listed");
    await evictDurableObject(trackerStub());
    expect(await listed()).toEqual(expected);
    await a2.close();
    await b2.close();
  });
});
