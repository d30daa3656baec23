/**
 * Churn budgets: the bytes of register and unregister messages a socket may
 * send, and all the sockets of one address together. Every change reaches
 * every syncing peer, so these bound what one client can make the tracker
 * send everyone; the address's budget is the one a client cannot reset by
 * reconnecting, and is large enough for the many users behind one
 * carrier-grade NAT. Like the message budget they live in memory only: the
 * runtime evicts an object only after it has been idle, and a bucket lost
 * then was refilling anyway.
 */
import { ProtocolFailure } from "@p2p/shared";

export interface Rate {
  perSecond: number;
  burst: number;
}

interface Bucket {
  bytes: number;
  at: number;
}

/** Past this many keys, buckets that have refilled are dropped: they hold nothing a new one would not. */
const PRUNE_ABOVE = 4096;

class Buckets {
  readonly #buckets = new Map<string, Bucket>();
  readonly rate: Rate;

  constructor(rate: Rate) {
    this.rate = rate;
  }

  /** The bucket for `key`, refilled to `now`. */
  get(key: string, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (bucket === undefined) {
      if (this.#buckets.size >= PRUNE_ABOVE) this.#prune(now);
      this.#buckets.set(key, (bucket = { bytes: this.rate.burst, at: now }));
    }
    bucket.bytes = this.#refilled(bucket, now);
    bucket.at = now;
    return bucket;
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }

  #refilled(bucket: Bucket, now: number): number {
    return Math.min(this.rate.burst, bucket.bytes + ((now - bucket.at) * this.rate.perSecond) / 1000);
  }

  #prune(now: number): void {
    for (const [key, bucket] of this.#buckets) if (this.#refilled(bucket, now) >= this.rate.burst) this.#buckets.delete(key);
  }
}

export class ChurnBudget {
  readonly #sockets: Buckets;
  readonly #addresses: Buckets;

  constructor(perSocket: Rate, perAddress: Rate) {
    this.#sockets = new Buckets(perSocket);
    this.#addresses = new Buckets(perAddress);
  }

  /** Takes `bytes` from the socket's and its address's budgets, or throws `rate-limited` and takes nothing. */
  take(conn: string, address: string, bytes: number, now: number): void {
    const socket = this.#sockets.get(conn, now);
    const shared = this.#addresses.get(address, now);
    const short = (bucket: Bucket, rate: Rate) => (bytes > bucket.bytes ? Math.ceil((bytes - bucket.bytes) / rate.perSecond) : 0);
    const wait = Math.max(short(socket, this.#sockets.rate), short(shared, this.#addresses.rate));
    if (wait > 0) {
      const kib = (n: number) => Math.round(n / 1024);
      throw new ProtocolFailure(
        "rate-limited",
        `this connection changed the catalog too fast (register and unregister messages: at most ${kib(this.#sockets.rate.perSecond)} KiB a second per connection, bursts of ${kib(this.#sockets.rate.burst)} KiB, and ${kib(this.#addresses.rate.perSecond)} KiB a second, bursts of ${kib(this.#addresses.rate.burst)} KiB, for all connections from ${address}); nothing was changed: try again in ${wait} s`,
      );
    }
    socket.bytes -= bytes;
    shared.bytes -= bytes;
  }

  /** The socket is gone; its address's budget stays. */
  forget(conn: string): void {
    this.#sockets.forget(conn);
  }
}
