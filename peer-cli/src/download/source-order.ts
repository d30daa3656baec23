/**
 * The order in which a download asks its sources, from what the tracker last
 * found when it connected to each (reachable in list-users): those it
 * reached first, then those not checked, then those it could not reach. No
 * source is ever left out: the tracker's view can be wrong (peers on one
 * LAN reach each other where the tracker cannot). Within each group the
 * order stays as given, so the named source leads its group.
 */
import type { Reachable } from "@p2p/shared";

const rank = (reachable: Reachable | undefined): number => (reachable === true ? 0 : reachable === false ? 2 : 1);

export function reachableFirst<T extends { reachable?: Reachable }>(sources: readonly T[]): T[] {
  // Array.prototype.sort is stable.
  return [...sources].sort((a, b) => rank(a.reachable) - rank(b.reachable));
}

/** For a failed download: which sources the tracker could not reach either, as a hint. */
export function unreachableNote(sources: readonly { user: string; reachable?: Reachable }[]): string {
  const names = sources.filter((s) => s.reachable === false).map((s) => s.user);
  if (names.length === 0) return "";
  const who = names.length === 1 ? `${names[0]}'s mini-server` : `the mini-servers of ${names.join(", ")}`;
  return ` (the tracker could not connect to ${who} either: ${names.length === 1 ? "it needs" : "they need"} a forwarded port or --port-map, see README "Run it for real")`;
}
