/**
 * A live page costs nothing while nothing changes: the version it is
 * rendered with is the one the auto-response is armed with, so its pings
 * are answered by the runtime and never wake an evicted object; and its
 * socket, hibernated with the object, is still told of the next change.
 */
import { env, exports } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { pingFor, pongFor } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, file } from "./tracker-socket.ts";

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

/** The page's socket, as the browser opens it. */
async function openLive(): Promise<{ ws: WebSocket; next: () => Promise<string> }> {
  const res = await exports.default.fetch("http://tracker.test/live", { headers: { Upgrade: "websocket" } });
  if (res.status !== 101 || !res.webSocket) throw new Error(`/live answered ${res.status}`);
  const ws = res.webSocket;
  ws.accept();
  const inbox: string[] = [];
  const waiting: ((text: string) => void)[] = [];
  ws.addEventListener("message", (event) => {
    const text = String(event.data);
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else inbox.push(text);
  });
  const next = () => {
    const text = inbox.shift();
    if (text !== undefined) return Promise.resolve(text);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no message within 10 s")), 10_000);
      waiting.push((message) => {
        clearTimeout(timer);
        resolve(message);
      });
    });
  };
  return { ws, next };
}

/** The version a rendered page carries for its pings. */
async function pageVersion(): Promise<string> {
  const html = await (await exports.default.fetch("http://tracker.test/")).text();
  const version = /<body data-version="([^"]+)"/.exec(html)?.[1];
  if (!version) throw new Error("the page carries no version");
  return version;
}

describe("an idle live page", () => {
  it("is rendered with the told version, whose pings the runtime answers without waking an evicted object", async () => {
    const peer = await TrackerSocket.probed(4300);
    await peer.ok("sync", {});
    await peer.ok("register", { user: "idle-page-a", files: [file("/srv/idle-a.txt")] });
    const { version: now } = await peer.ok("sync", {});
    await peer.noticeOf(now);

    const rendered = await pageVersion();
    expect(rendered).toBe(now);
    const page = await openLive();
    await evictDurableObject(trackerStub());

    page.ws.send(pingFor(rendered));
    expect(await page.next()).toBe(pongFor(rendered));
    // Nothing ran in the object, so there is nothing to evict.
    await expect(evictDurableObject(trackerStub())).rejects.toThrow(/not currently running/);

    // Hibernated with the object, the page's socket is still told of the next change.
    await peer.ok("register", { user: "idle-page-a", files: [file("/srv/idle-b.txt")] });
    const notice = JSON.parse(await page.next()) as { type: string; v: string };
    expect(notice.type).toBe("changed");
    expect(notice.v).not.toBe(rendered);
    page.ws.close();
    await peer.close();
  });
});
