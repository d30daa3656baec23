/** The tracker's HTTP front: routes peers' sockets and the read-only API to the one Tracker object. */
import { Hono } from "hono";
import { PEER_HOST_HEADER, Tracker } from "./tracker/tracker.ts";

export { Tracker };

type Env = Cloudflare.Env;

/** All peers share one tracker object; its name is fixed. */
const trackerOf = (env: Env) => env.TRACKER.get(env.TRACKER.idFromName("tracker"));

const errorBody = (code: string, message: string) => ({ error: { code, message } });

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ ok: true }));

app.get("/ws", async (c) => {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.json(errorBody("upgrade-required", "connect here with a WebSocket"), 426);
  }
  // Peers' addresses come from Cloudflare's edge; `wrangler dev` may not set it.
  const headers = new Headers(c.req.raw.headers);
  headers.set(PEER_HOST_HEADER, c.req.header("CF-Connecting-IP") ?? "127.0.0.1");
  return trackerOf(c.env).fetch(new Request(c.req.raw, { headers }));
});

// The object keeps each listing's JSON until it changes; it is passed on as it is.
app.get("/api/files", async (c) => c.body(await trackerOf(c.env).filesJson(), 200, { "Content-Type": "application/json" }));

app.get("/api/users", async (c) => c.body(await trackerOf(c.env).usersJson(), 200, { "Content-Type": "application/json" }));

app.notFound((c) => c.json(errorBody("not-found", `no such route: ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

app.onError((error, c) => {
  console.error("worker error", error);
  return c.json(errorBody("internal", "the tracker failed"), 500);
});

export default app;
