/** The tracker's HTTP front: routes peers' sockets, the live page and the read-only API to the one Tracker object. */
import { ProtocolFailure } from "@p2p/shared";
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { isCrossSite, refusal } from "./access.ts";
import { readFilesQuery, readUsersQuery } from "./http-query.ts";
import { pageRoutes } from "./page/routes.tsx";
import { socketHome, trackerOf } from "./tracker-stub.ts";
import { LIVE_PATH, PEER_HOST_HEADER, Tracker } from "./tracker/tracker.ts";
import { TrackerHub } from "./shards/hub.ts";

export { Tracker, TrackerHub };

type Env = Cloudflare.Env;

const errorBody = (code: string, message: string) => ({ error: { code, message } });

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ ok: true }));

/** With the P2P_TOKEN secret set, peers' sockets and the API need the token (access.ts). */
const needsToken: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const refused = await refusal(c);
  if (refused === null) return next();
  c.header("WWW-Authenticate", 'Bearer realm="p2p-tracker"');
  return c.json(errorBody(refused.code, refused.message), 401);
};
app.use("/ws", needsToken);
app.use(LIVE_PATH, needsToken);
app.use("/api/*", needsToken);

/** Hands a socket to the object, which tells a peer's (/ws) from a live page's (/live) by the path. */
async function toTracker(c: Context<{ Bindings: Env }>): Promise<Response> {
  if (c.req.header("Upgrade")?.toLowerCase() !== "websocket") {
    return c.json(errorBody("upgrade-required", "connect here with a WebSocket"), 426);
  }
  // Peers' addresses come from Cloudflare's edge; `wrangler dev` may not set it.
  const headers = new Headers(c.req.raw.headers);
  headers.set(PEER_HOST_HEADER, c.req.header("CF-Connecting-IP") ?? "127.0.0.1");
  // The token has been checked; the object has no use for it.
  headers.delete("Authorization");
  headers.delete("Cookie");
  return socketHome(c.env, c.req.query("user")).fetch(new Request(c.req.raw, { headers }));
}

app.get("/ws", toTracker);

// A page on another site must not open the live socket with this browser's cookie.
app.get(LIVE_PATH, async (c) => {
  if (isCrossSite(c)) return c.json(errorBody("cross-site", "the live socket is for the tracker's own page"), 403);
  return toTracker(c);
});

app.get("/api/stats", async (c) => c.json(await trackerOf(c.env).stats()));

// The object keeps each listing's JSON until it changes, and cuts pages from it; either is passed on as it is.
// A query is checked here, so a bad one never reaches the object.
app.get("/api/files", async (c) => {
  const query = readFilesQuery(new URL(c.req.url).searchParams);
  const tracker = trackerOf(c.env);
  return c.body(query === null ? await tracker.filesJson() : await tracker.filesPage(query), 200, { "Content-Type": "application/json" });
});

app.get("/api/users", async (c) => {
  const query = readUsersQuery(new URL(c.req.url).searchParams);
  const tracker = trackerOf(c.env);
  return c.body(query === null ? await tracker.usersJson() : await tracker.usersPage(query), 200, { "Content-Type": "application/json" });
});

app.route("/", pageRoutes);

app.notFound((c) => c.json(errorBody("not-found", `no such route: ${c.req.method} ${new URL(c.req.url).pathname}`), 404));

app.onError((error, c) => {
  if (error instanceof ProtocolFailure) return c.json(errorBody(error.code, error.message), 400);
  console.error("worker error", error);
  return c.json(errorBody("internal", "the tracker failed"), 500);
});

export default app;
