/**
 * Size budgets: each user's path bytes, and the whole catalog. A register
 * that would pass either is refused with its own code and changes nothing,
 * and no listing ever grows past MAX_CATALOG_BYTES.
 */
import { exports } from "cloudflare:workers";
import { CHURN_BURST_BYTES, MAX_CATALOG_BYTES, MAX_FILES_PER_MESSAGE, MAX_FILES_PER_USER, MAX_PATH_BYTES, MAX_USER_PATH_BYTES } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, eventually, file, sha } from "./tracker-socket.ts";

/** A path of exactly `bytes` UTF-8 bytes. */
const pathOf = (prefix: string, bytes: number) => `${prefix}/`.padEnd(bytes, "p");

const mine = async (socket: TrackerSocket, user: string) =>
  (await socket.ok("list-files", {})).files.filter((f: { user: string }) => f.user === user).map((f: { path: string }) => f.path);

describe("per-user path bytes", () => {
  it("takes paths up to the user's quota, then refuses more with user-quota and changes nothing", async () => {
    const peer = await TrackerSocket.hello();
    const count = MAX_USER_PATH_BYTES / MAX_PATH_BYTES;
    const long = Array.from({ length: count }, (_, i) => file(pathOf(`/quota/${String(i).padStart(4, "0")}`, MAX_PATH_BYTES)));
    // Exactly the quota, in two messages (one would be over the message size).
    await peer.ok("register", { user: "quota", files: long.slice(0, count / 2) });
    expect(await peer.ok("register", { user: "quota", files: long.slice(count / 2) })).toMatchObject({ total: count });

    const over = await peer.request("register", { user: "quota", files: [file("/quota/ok"), file("/one-byte-too-many")] });
    expect(over).toMatchObject({ ok: false, error: { code: "user-quota", message: expect.stringContaining(String(MAX_USER_PATH_BYTES)) } });
    expect(await mine(peer, "quota")).toHaveLength(count);

    // Known paths can still be updated at the quota; unregistering makes room.
    expect(await peer.ok("register", { user: "quota", files: [{ ...long[0]!, size: 99 }] })).toMatchObject({ updated: 1, total: count });
    await peer.ok("unregister", { user: "quota", paths: [long[0]!.path] });
    expect(await peer.ok("register", { user: "quota", files: [file("/short")] })).toMatchObject({ added: 1, total: count });
    await peer.close();
  });

  it("counts bytes, not characters", async () => {
    const peer = await TrackerSocket.hello();
    // 2 bytes per character: 300 paths of 2,000 characters are 1.2 MB.
    const wide = Array.from({ length: 300 }, (_, i) => file(`/${i}/`.padEnd(2000, "é")));
    await peer.ok("register", { user: "wide", files: wide.slice(0, 200) });
    expect(await peer.request("register", { user: "wide", files: wide.slice(200) })).toMatchObject({ ok: false, error: { code: "user-quota" } });
    await peer.close();
  });
});

describe("catalog", () => {
  it("fills up to its budget, refuses more with catalog-full, and every listing stays within it", async () => {
    await eventually(async () => (await api<unknown[]>("/api/files")).length === 0, "files of earlier tests to go");
    // Users with 10,000 files each, their paths as long as the quota lets them be; half are
    // Windows paths, whose backslashes JSON doubles.
    const paths = (user: number) => {
      const room = Math.floor(MAX_USER_PATH_BYTES / MAX_FILES_PER_USER);
      return Array.from({ length: MAX_FILES_PER_USER }, (_, f) =>
        user % 2 === 0 ? pathOf(`/catalog/u${user}/${f}`, room) : `C:\\catalog\\u${user}\\${f}\\`.padEnd(room, "\\"),
      );
    };
    const fillers: TrackerSocket[] = [];
    let refused: { user: string; files: ReturnType<typeof file>[] } | undefined;
    for (let user = 0; !refused && user < 10; user++) {
      const socket = await TrackerSocket.hello();
      fillers.push(socket);
      const all = paths(user).map((path) => ({ path, size: 1, root: sha("c") }));
      for (let from = 0; from < all.length; from += MAX_FILES_PER_MESSAGE) {
        const batch = all.slice(from, from + MAX_FILES_PER_MESSAGE);
        const reply = await socket.request("register", { user: `filler${user}`, files: batch });
        if (reply.ok) continue;
        expect(reply).toMatchObject({ error: { code: "catalog-full", message: expect.stringContaining(String(MAX_CATALOG_BYTES)) } });
        refused = { user: `filler${user}`, files: batch };
        break;
      }
    }
    expect(refused).toBeDefined();
    // No one user can fill the catalog: at least three had all their files accepted.
    expect(fillers.length).toBeGreaterThan(3);

    const listing = JSON.stringify((await fillers[0]!.ok("list-files", {})).files);
    const reply = await fillers[0]!.raw(JSON.stringify({ id: "whole", type: "list-files" }));
    expect(new TextEncoder().encode(JSON.stringify(reply)).length).toBeLessThanOrEqual(MAX_CATALOG_BYTES);
    // The budget is an upper bound, but not a loose one: the listing filled it to within a batch or two.
    expect(listing.length).toBeGreaterThan(MAX_CATALOG_BYTES * 0.9);
    const http = await exports.default.fetch("http://tracker.test/api/files");
    expect(http.status).toBe(200);
    expect((await http.arrayBuffer()).byteLength).toBeLessThanOrEqual(MAX_CATALOG_BYTES);

    // The refusal changed nothing; once a filler leaves, the same batch fits.
    const last = fillers.at(-1)!;
    expect(await last.request("register", refused!)).toMatchObject({ ok: false, error: { code: "catalog-full" } });
    expect(JSON.stringify((await last.ok("list-files", {})).files)).toBe(listing);
    await fillers[0]!.close();
    await eventually(async () => (await last.request("register", refused!)).ok, "room in the catalog once a filler left");
    for (const socket of fillers.slice(1)) await socket.close();
  }, 60_000);
});

describe("churn", () => {
  it("refuses a socket that keeps registering and unregistering with rate-limited, changes nothing, and leaves others alone", async () => {
    const churner = await TrackerSocket.hello();
    const files = Array.from({ length: 1000 }, (_, i) => file(pathOf(`/churn/${i}`, 400)));
    const register = JSON.stringify({ type: "register", user: "churner", files });
    let sent = 0;
    let refused: { ok: boolean; error?: { code: string; message: string } } | undefined;
    // Register, unregister, register…: each message is about 480 KB, so the burst runs out within a few.
    for (let i = 0; i < 20 && !refused; i++) {
      const reply = i % 2 === 0 ? await churner.request("register", { user: "churner", files }) : await churner.request("unregister", { user: "churner", paths: files.map((f) => f.path) });
      sent += register.length;
      if (!reply.ok) refused = reply;
    }
    expect(refused).toMatchObject({ ok: false, error: { code: "rate-limited", message: expect.stringContaining("changed the catalog too fast") } });
    expect(sent).toBeGreaterThan(CHURN_BURST_BYTES);
    // Nothing changed by the refused message: the user has what the last accepted one left.
    const held = await mine(churner, "churner");
    const again = await churner.request("unregister", { user: "churner", paths: files.map((f) => f.path) });
    expect(again).toMatchObject({ ok: false, error: { code: "rate-limited" } });
    expect(await mine(churner, "churner")).toEqual(held);

    const other = await TrackerSocket.hello();
    expect(await other.ok("register", { user: "calm", files: [file("/calm")] })).toMatchObject({ added: 1 });
    await other.close();
    await churner.close();
  });

  it("keeps an address's budget across reconnects: a fresh socket from it is refused too, other addresses are not", async () => {
    const files = Array.from({ length: 1000 }, (_, i) => file(pathOf(`/rechurn/${i}`, 400)));
    const from = { "CF-Connecting-IP": "127.0.0.9" };
    let freshRefused: { ok: boolean; error?: { code: string; message: string } } | undefined;
    for (let socketNo = 0; socketNo < 10 && !freshRefused; socketNo++) {
      const socket = await TrackerSocket.open(from);
      await socket.ok("hello", { port: 4000, protocol: 2 });
      for (let i = 0; ; i++) {
        const reply = i % 2 === 0 ? await socket.request("register", { user: "rechurn", files }) : await socket.request("unregister", { user: "rechurn", paths: files.map((f) => f.path) });
        if (reply.ok) continue;
        expect(reply).toMatchObject({ error: { code: "rate-limited" } });
        // Refused at once on a socket of its own: only the address's budget can say no.
        if (i === 0) freshRefused = reply;
        break;
      }
      await socket.close();
    }
    expect(freshRefused).toMatchObject({ ok: false, error: { code: "rate-limited", message: expect.stringContaining("127.0.0.9") } });
    const elsewhere = await TrackerSocket.open({ "CF-Connecting-IP": "127.0.0.10" });
    await elsewhere.ok("hello", { port: 4000, protocol: 2 });
    expect(await elsewhere.ok("register", { user: "elsewhere", files })).toMatchObject({ added: 1000 });
    await elsewhere.close();
  });
});

