/**
 * Addresses given to `p2p-peer start` (--bind, --host). IPv6 literals may come
 * bracketed as in URLs ("[2001:db8::1]"); sockets and the protocol want them bare.
 */
import { checkHost } from "@p2p/shared";
import { usage } from "./env.ts";

export const unbracket = (address: string): string => address.replace(/^\[(.*)\]$/, "$1");

/** The --host other peers are told: a DNS name or an IP address, checked as the tracker will. */
export function advertisedHost(given: string): string {
  try {
    return checkHost(unbracket(given));
  } catch {
    throw usage(`invalid --host ${JSON.stringify(given)}: give a DNS name or an IP address (IPv6 as 2001:db8::1 or [2001:db8::1])`);
  }
}
