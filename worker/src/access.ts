/**
 * The optional access token. With the secret P2P_TOKEN set, a request must
 * carry it: `Authorization: Bearer <token>` (what peers send), or the cookie
 * `p2p_token` (browsers cannot set headers on a WebSocket). Never in the URL,
 * which access logs and Workers Logs keep. Without the secret the tracker is
 * open, as the assignment allows.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";

export const TOKEN_COOKIE = "p2p_token";

export interface Refusal {
  code: "token-required" | "token-refused";
  message: string;
}

/** Why this request may not go on, or null when it may (or no token is configured). */
export async function refusal(c: Context<{ Bindings: Cloudflare.Env }>): Promise<Refusal | null> {
  const expected = c.env.P2P_TOKEN;
  if (!expected) return null;
  const given = bearerToken(c.req.header("Authorization")) ?? getCookie(c, TOKEN_COOKIE);
  if (given === undefined) {
    return { code: "token-required", message: `this tracker needs an access token: send "Authorization: Bearer <token>" or the ${TOKEN_COOKIE} cookie` };
  }
  return (await sameSecret(given, expected)) ? null : { code: "token-refused", message: "the tracker refused the access token" };
}

/** Whether `given` is the configured token (the sign-in form's check); false when none is configured. */
export async function isTheToken(env: Cloudflare.Env, given: string): Promise<boolean> {
  return Boolean(env.P2P_TOKEN) && (await sameSecret(given, env.P2P_TOKEN!));
}

/**
 * A browser sends `Origin` with a WebSocket handshake and a form's POST: one
 * from another site must not ride the visitor's cookie (cross-site
 * WebSocket hijacking, forged sign-outs). Programs that send no Origin, as
 * peers do, are not browsers acting for someone else.
 */
export function isCrossSite(c: Context): boolean {
  const origin = c.req.header("Origin");
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== new URL(c.req.url).host;
  } catch {
    return true;
  }
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

const encoder = new TextEncoder();

/**
 * Compares in constant time. Both sides are hashed first, so the comparison
 * always runs over 32 bytes and does not even reveal the token's length.
 */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([given, expected].map((text) => crypto.subtle.digest("SHA-256", encoder.encode(text))));
  return a !== undefined && b !== undefined && crypto.subtle.timingSafeEqual(a, b);
}
