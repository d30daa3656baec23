/**
 * One user, then a few, try to fill the tracker's catalog (a real `wrangler
 * dev` tracker, hostile WebSockets from this process). They are refused with
 * user-quota and catalog-full, and meanwhile `p2p-peer list-files`,
 * `GET /api/files` and every peer's cached files.json keep working within
 * MAX_CATALOG_BYTES.
 */
import { rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_CATALOG_BYTES, type TrackerReply, isReachabilityPush } from "@p2p/shared";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

/** A bare WebSocket client: one request at a time. */
class Hostile {
  private readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
  }

  static open(url: string): Promise<Hostile> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener("open", () => resolve(new Hostile(ws)), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  request(body: object): Promise<TrackerReply> {
    return new Promise((resolve) => {
      const onMessage = (event: MessageEvent) => {
        // The reachability report after hello answers no request.
        if (isReachabilityPush(String(event.data))) return;
        this.ws.removeEventListener("message", onMessage);
        resolve(JSON.parse(String(event.data)) as TrackerReply);
      };
      this.ws.addEventListener("message", onMessage);
      this.ws.send(JSON.stringify({ id: 1, ...body }));
    });
  }

  /**
   * Registers `paths` in batches until one is refused; a batch the full catalog
   * refuses is tried again ten times smaller, down to a single file, so the
   * catalog ends up full to the last entry. Returns the last refusal's code.
   */
  async fill(user: string, paths: string[], batchSize: number): Promise<string | null> {
    await this.request({ type: "hello", port: 9, protocol: 2 });
    for (let from = 0; from < paths.length; ) {
      const files = paths.slice(from, from + batchSize).map((path) => ({ path, size: 1, root: "e".repeat(64) }));
      const reply = await this.request({ type: "register", user, files });
      if (reply.ok) from += files.length;
      else if (reply.error.code === "catalog-full" && batchSize > 1) batchSize = Math.ceil(batchSize / 10);
      else return reply.error.code;
    }
    return null;
  }

  close(): void {
    this.ws.close();
  }
}

let tracker: Tracker;
let dir: string;
let p: PeerProcess;
let q: PeerProcess;
let offered: string;
const hostile: Hostile[] = [];

beforeAll(async () => {
  dir = await makeTempDir("p2p-catalog-");
  tracker = await startTracker();
  [p, q] = await Promise.all([startPeer("P", tracker.url, dir), startPeer("Q", tracker.url, dir)]);
  offered = join(dir, "offered.txt");
  await writeFile(offered, "P offers this\n");
  const registered = await p.run("register", "P", offered);
  expect(registered.code, registered.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  for (const socket of hostile) socket.close();
  await Promise.all([p, q].filter(Boolean).map((peer) => peer.kill()));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("a user trying to fill the catalog", () => {
  it("is refused, and listings keep working for every peer within the catalog budget", async () => {
    // As in the issue: 10,000 files with 4 KB paths in messages of 250, then nine more users with 10,000 short paths each.
    const hog = await Hostile.open(tracker.url);
    hostile.push(hog);
    const long = Array.from({ length: 10_000 }, (_, f) => `/hog/${"x".repeat(3990)}/${f}`);
    expect(await hog.fill("hog", long, 250)).toBe("user-quota");
    const refusals: (string | null)[] = [];
    for (let i = 0; i < 9; i++) {
      const helper = await Hostile.open(tracker.url);
      hostile.push(helper);
      refusals.push(await helper.fill(`helper${i}`, Array.from({ length: 10_000 }, (_, f) => `/helper${i}/f${f}`), 1000));
    }
    expect(refusals).toContain("catalog-full");

    // Every peer still lists everything, P's file among the hostile ones.
    const listed = await q.run("list-files");
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trim().split("\n");
    expect(lines).toContain(`P : ${offered}`);
    const api = await fetch(`${tracker.http}/api/files`);
    expect(api.status).toBe(200);
    const body = await api.text();
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_CATALOG_BYTES);
    expect((JSON.parse(body) as unknown[]).length).toBe(lines.length);
    // Each peer's cache of the listing (refreshed every second here) holds the full catalog and no more.
    await waitFor("Q's files.json to hold the full catalog", async () => (await stat(join(q.home, "files.json"))).size >= body.length * 0.99);
    expect((await stat(join(q.home, "files.json"))).size).toBeLessThanOrEqual(MAX_CATALOG_BYTES);

    // A peer registering now is told why, clearly; once the hostile users leave, it can.
    const extra = join(dir, "extra.txt");
    await writeFile(extra, "Q offers this\n");
    const refused = await q.run("register", "Q", extra);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("catalog is full");
    for (const socket of hostile.splice(0)) socket.close();
    await waitFor("room in the catalog", async () => (await q.run("register", "Q", extra)).code === 0, 30_000);
    expect((await q.run("list-files")).stdout).toContain(`Q : ${extra}`);
  }, 120_000);
});
