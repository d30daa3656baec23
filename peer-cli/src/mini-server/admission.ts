/**
 * Who gets one of the mini-server's connection slots. One client address may
 * hold only a few of them, so it cannot lock everyone else out; and when the
 * server (or that address) is full, a connection that makes no progress gives
 * way to the newcomer, so slots cannot be held by asking for nothing.
 */
import net from "node:net";
import type { NoProgress, Progress } from "./progress.ts";

export interface AdmissionLimits {
  maxConnections: number;
  maxConnectionsPerAddress: number;
}

export type Admitted<T> =
  | { admitted: true; evicted?: { connection: T } & NoProgress }
  | { admitted: false; message: string };

export class Admission<T extends { readonly progress: Progress }> {
  readonly #limits: AdmissionLimits;
  readonly #byAddress = new Map<string, Set<T>>();
  readonly #addressOf = new Map<T, string>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /**
   * Admits `connection` from `address` (see addressKey), closing the way for
   * it if need be: the caller must close the evicted connection at once.
   */
  admit(connection: T, address: string): Admitted<T> {
    const { maxConnections, maxConnectionsPerAddress } = this.#limits;
    const now = performance.now();
    const mine = this.#byAddress.get(address) ?? new Set<T>();
    let evicted: ({ connection: T } & NoProgress) | undefined;
    if (mine.size >= maxConnectionsPerAddress) {
      evicted = this.#leastProductive(mine, now);
      if (evicted === undefined) {
        return { admitted: false, message: `the peer is serving ${maxConnectionsPerAddress} connections from your address; try again later` };
      }
    } else if (this.#addressOf.size >= maxConnections) {
      evicted = this.#leastProductive(this.#addressOf.keys(), now);
      if (evicted === undefined) return { admitted: false, message: `the peer is serving ${maxConnections} connections; try again later` };
    }
    if (evicted !== undefined) this.leave(evicted.connection);
    mine.add(connection);
    this.#byAddress.set(address, mine);
    this.#addressOf.set(connection, address);
    return evicted === undefined ? { admitted: true } : { admitted: true, evicted };
  }

  /** Frees the connection's slot; harmless if it has none. */
  leave(connection: T): void {
    const address = this.#addressOf.get(connection);
    if (address === undefined) return;
    this.#addressOf.delete(connection);
    const mine = this.#byAddress.get(address);
    mine?.delete(connection);
    if (mine?.size === 0) this.#byAddress.delete(address);
  }

  /**
   * Of the candidates that make no progress, the one to close: from the
   * address holding the most slots, then the one that took fewest bytes
   * lately, then the one longest without progress.
   */
  #leastProductive(candidates: Iterable<T>, now: number): ({ connection: T } & NoProgress) | undefined {
    let best: { connection: T; lack: NoProgress; crowd: number; recent: number } | undefined;
    for (const connection of candidates) {
      const lack = connection.progress.lack(now);
      if (lack === undefined) continue;
      const address = this.#addressOf.get(connection);
      const crowd = address === undefined ? 0 : (this.#byAddress.get(address)?.size ?? 0);
      const recent = connection.progress.recentBytes(now);
      const better =
        best === undefined ||
        crowd > best.crowd ||
        (crowd === best.crowd && (recent < best.recent || (recent === best.recent && lack.since < best.lack.since)));
      if (better) best = { connection, lack, crowd, recent };
    }
    return best === undefined ? undefined : { connection: best.connection, ...best.lack };
  }
}

/**
 * What counts as one client address: an IPv4 address (also when it comes
 * IPv4-mapped, as ::ffff:a.b.c.d), or an IPv6 /64, the block one host or
 * home usually gets, so that its 2^64 addresses do not count as many clients.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined) return "unknown";
  const unmapped = address.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  if (net.isIPv4(unmapped)) return unmapped;
  const bare = unmapped.replace(/%.*$/, "");
  if (!net.isIPv6(bare)) return unmapped;
  const [head = "", tail] = bare.split("::");
  const groups = (part: string | undefined): string[] => (part ? part.split(":") : []);
  // An IPv4 tail (::a.b.c.d) fills two 16-bit groups.
  const width = (list: string[]): number => list.reduce((sum, group) => sum + (group.includes(".") ? 2 : 1), 0);
  const front = groups(head);
  const back = groups(tail);
  const expanded = tail === undefined ? front : [...front, ...new Array<string>(8 - width(front) - width(back)).fill("0"), ...back];
  return `${expanded
    .slice(0, 4)
    .map((group) => Number.parseInt(group, 16).toString(16))
    .join(":")}::/64`;
}
