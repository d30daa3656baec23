import { PROTOCOL_VERSION, isReachabilityPush } from "@p2p/shared";
/**
 * The optional access token, through the real worker and the real tracker
 * object: the worker is called with this runtime's bindings plus the
 * P2P_TOKEN secret, as Cloudflare calls it once `wrangler secret put` ran.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index.ts";
import { file } from "./tracker-socket.ts";

const TOKEN = "6f1c0e9a4b7d2358e1a0c4f9b2d7e3a8";

/** The worker as deployed with the secret set, or (`bindings` = env) without it. */
function call(path: string, headers: Record<string, string> = {}, bindings: Cloudflare.Env = { ...env, P2P_TOKEN: TOKEN }): Promise<Response> {
  return Promise.resolve(worker.fetch(new Request(`http://tracker.test${path}`, { headers }), bindings));
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** A WebSocket to the tracker through the token check, answering requests in order. */
async function connect(headers: Record<string, string>) {
  const res = await call("/ws", { Upgrade: "websocket", ...headers });
  if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status}`);
  const ws = res.webSocket;
  ws.accept();
  const replies: string[] = [];
  const waiting: Array<(text: string) => void> = [];
  ws.addEventListener("message", (event) => {
    const text = String(event.data);
    if (isReachabilityPush(text)) return;
    const waiter = waiting.shift();
    if (waiter) waiter(text);
    else replies.push(text);
  });
  let id = 0;
  return {
    async ok(type: string, body: object): Promise<unknown> {
      ws.send(JSON.stringify({ id: ++id, type, ...body }));
      const reply = JSON.parse(replies.shift() ?? (await new Promise<string>((resolve) => waiting.push(resolve))));
      if (!reply.ok) throw new Error(`${type}: ${reply.error.code}`);
      return reply.result;
    },
    close: () => ws.close(1000, "done"),
  };
}

const listed = async () => (await (await call("/api/files", bearer(TOKEN))).json()) as Array<{ user: string; path: string }>;

describe("with P2P_TOKEN set", () => {
  it("refuses the API and sockets without the token, with 401 and a message that says what to send", async () => {
    for (const res of [await call("/api/files"), await call("/api/users"), await call("/ws", { Upgrade: "websocket" })]) {
      expect(res.status).toBe(401);
      expect(res.webSocket).toBeNull();
      expect(res.headers.get("WWW-Authenticate")).toContain("Bearer");
      expect(await res.json()).toMatchObject({ error: { code: "token-required", message: expect.stringContaining("Authorization: Bearer") } });
    }
  });

  it("refuses a wrong token, a wrong scheme, and the right token in the URL", async () => {
    const attempts = [
      await call("/api/files", bearer(TOKEN.slice(0, -1))),
      await call("/api/files", bearer(`${TOKEN}x`)),
      await call("/api/files", { Authorization: `Basic ${btoa(`user:${TOKEN}`)}` }),
      await call("/api/files", { Cookie: "p2p_token=wrong" }),
      await call(`/api/files?token=${encodeURIComponent(TOKEN)}`),
      await call("/ws", { Upgrade: "websocket", ...bearer("wrong") }),
    ];
    expect(attempts.map((res) => res.status)).toEqual([401, 401, 401, 401, 401, 401]);
    expect(await attempts[0]?.json()).toMatchObject({ error: { code: "token-refused", message: "the tracker refused the access token" } });
  });

  it("lets the token in as a bearer header or as the p2p_token cookie", async () => {
    expect((await call("/api/users", bearer(TOKEN))).status).toBe(200);
    expect((await call("/api/users", { Cookie: `theme=dark; p2p_token=${encodeURIComponent(TOKEN)}` })).status).toBe(200);
    const peer = await connect(bearer(TOKEN));
    expect(await peer.ok("hello", { port: 4300, protocol: PROTOCOL_VERSION })).toEqual({ host: "127.0.0.1", port: 4300, protocol: PROTOCOL_VERSION });
    peer.close();
  });

  it("changes nothing for a wrong token: a register over a refused socket never happens", async () => {
    const owner = await connect(bearer(TOKEN));
    await owner.ok("hello", { port: 4301, protocol: PROTOCOL_VERSION });
    await owner.ok("register", { user: "token-owner", files: [file("/srv/kept.txt")] });
    const before = await listed();

    const refused = await call("/ws", { Upgrade: "websocket", ...bearer("guess") });
    expect(refused.status).toBe(401);
    expect(refused.webSocket).toBeNull();
    expect((await call("/api/files", bearer("guess"))).status).toBe(401);

    expect(await listed()).toEqual(before);
    expect(before).toContainEqual(expect.objectContaining({ user: "token-owner", path: "/srv/kept.txt" }));
    owner.close();
  });

  it("keeps /health open, for uptime checks", async () => {
    expect((await call("/health")).status).toBe(200);
  });
});

describe("without P2P_TOKEN", () => {
  it("is open: no token needed, and one sent anyway is ignored", async () => {
    expect((await call("/api/files", {}, env)).status).toBe(200);
    expect((await call("/api/files", bearer("anything"), env)).status).toBe(200);
    expect((await call("/api/files", {}, { ...env, P2P_TOKEN: "" })).status).toBe(200);
  });
});
