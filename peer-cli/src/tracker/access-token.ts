/**
 * The tracker's optional access token, as this peer sends it, and what a
 * refusal means. A refused WebSocket upgrade reaches Node's WebSocket only as
 * "non-101 status", so the reason is asked for separately: the same URL over
 * HTTP with the same credentials, where the tracker answers 401 for a token
 * missing or wrong (426 otherwise).
 */
import { EXIT, PeerError } from "../errors.ts";

/** What a token may hold: visible ASCII without spaces, so it fits a header as it is. */
const TOKEN_PATTERN = /^[\x21-\x7e]{1,4096}$/;

export function isValidToken(token: string): boolean {
  return TOKEN_PATTERN.test(token);
}

export function authorization(token: string | undefined): Record<string, string> {
  return token === undefined ? {} : { Authorization: `Bearer ${token}` };
}

/** Token refusals carry these codes; they exit with 1: the user must fix the token, retrying will not. */
export const TOKEN_ERRORS: ReadonlySet<string> = new Set(["token-required", "token-refused"]);

/** The refusal, when the tracker at `url` refuses this token (or its absence); null otherwise or when it cannot tell. */
export async function tokenRefusal(url: string, token: string | undefined, timeoutMs = 5_000): Promise<PeerError | null> {
  try {
    const response = await fetch(url.replace(/^ws/i, "http"), { headers: authorization(token), signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    if (response.status !== 401) return null;
  } catch {
    return null;
  }
  return token === undefined
    ? new PeerError("token-required", `the tracker at ${url} needs an access token: pass --token or set $P2P_TOKEN`, EXIT.failed)
    : new PeerError("token-refused", `the tracker at ${url} refused the token: check --token or $P2P_TOKEN`, EXIT.failed);
}
