/**
 * The live page's routes: the page itself, signing in and out when the
 * tracker has a token, and its two assets. Its socket, /live, is routed with
 * the peers' (index.ts).
 */
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, setCookie } from "hono/cookie";
import type { JSX } from "hono/jsx/jsx-runtime";
import { TOKEN_COOKIE, isCrossSite, isTheToken, refusal } from "../access.ts";
import { trackerOf } from "../tracker-stub.ts";
import { assetAt } from "./assets.ts";
import { readPageQuery } from "./page-query.ts";
import { SignInPage } from "./sign-in-page.tsx";
import { TrackerPage } from "./tracker-page.tsx";

type Env = { Bindings: Cloudflare.Env };

/** Scripts and styles only from the tracker itself, sockets only to it, no frames around it. */
const PAGE_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  // Page links carry searches and cursors; they stay here.
  "Referrer-Policy": "no-referrer",
  // The page is live: a cached one is a wrong one.
  "Cache-Control": "no-store",
};

/** A cookie lasts this long; signing in again renews it. */
const COOKIE_MAX_AGE_S = 30 * 24 * 3600;
/** A sign-in form is a few hundred bytes; anything far larger is not one. */
const MAX_FORM_BYTES = 8 * 1024;

async function html(c: Context<Env>, page: JSX.Element, status: 200 | 400 | 401 | 403 | 413): Promise<Response> {
  return c.body(`<!doctype html>${await page.toString()}`, status, { ...PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8" });
}

export const pageRoutes = new Hono<Env>();

pageRoutes.get("/", async (c) => {
  const refused = await refusal(c);
  if (refused !== null) {
    const problem = refused.code === "token-refused" ? "The token this browser kept is no longer the tracker's. Give the current one." : "Give the tracker's access token to see who is online.";
    return html(c, <SignInPage problem={problem} />, 401);
  }
  const read = readPageQuery(new URL(c.req.url).searchParams);
  // With a bad field the page still shows the totals and users, and no files.
  const view = await trackerOf(c.env).pageView(read.query ?? { files: { limit: 1 } });
  return html(c, <TrackerPage read={read} view={view} signedIn={Boolean(c.env.P2P_TOKEN)} />, read.query === null ? 400 : 200);
});

const formLimit = bodyLimit({ maxSize: MAX_FORM_BYTES, onError: (c) => html(c, <SignInPage problem="That form is far too large to hold a token." />, 413) });

pageRoutes.post("/login", formLimit, async (c) => {
  if (isCrossSite(c)) return c.text("sign in from the tracker's own page", 403);
  if (!c.env.P2P_TOKEN) return c.redirect("/", 303);
  const form = await c.req.parseBody();
  const token = typeof form.token === "string" ? form.token.trim() : "";
  if (token === "" || !(await isTheToken(c.env, token))) return html(c, <SignInPage problem="The tracker refused that token." />, 401);
  setCookie(c, TOKEN_COOKIE, token, {
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    secure: new URL(c.req.url).protocol === "https:",
    maxAge: COOKIE_MAX_AGE_S,
  });
  return c.redirect("/", 303);
});

pageRoutes.post("/logout", (c) => {
  if (isCrossSite(c)) return c.text("sign out from the tracker's own page", 403);
  deleteCookie(c, TOKEN_COOKIE, { path: "/", secure: new URL(c.req.url).protocol === "https:" });
  return c.redirect("/", 303);
});

pageRoutes.get("/assets/:file", (c) => {
  const asset = assetAt(c.req.path);
  if (asset === undefined) return c.notFound();
  return c.body(asset.body, 200, { "Content-Type": asset.type, "Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff" });
});
