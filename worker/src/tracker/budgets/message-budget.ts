/**
 * Each socket's message budget: a token bucket, charged before a message is
 * read at all, so a flood costs a map lookup and some arithmetic per message
 * instead of a parse and a reply. It needs no storage and no timer: a bucket
 * refills from the time elapsed whenever its socket next sends.
 *
 * Buckets live in memory only, keyed by the socket object. Eviction forgets
 * them, and that loses nothing: the runtime evicts an object only after
 * seconds without a message, longer than a bucket takes to refill
 * completely, so every bucket it forgets was full anyway.
 */
import { BAD_MESSAGE_TOKENS, SOCKET_BYTES_PER_TOKEN, SOCKET_DROPS_BEFORE_CLOSE } from "@p2p/shared";

/**
 * What to do with a message: read it; answer `rate-limited` once (the bucket
 * just ran dry) and drop it; drop it unread; or close the socket, which
 * kept on for SOCKET_DROPS_BEFORE_CLOSE messages after it was told.
 */
export type Verdict = "read" | "limit" | "drop" | "close";

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date (ms). */
  at: number;
  /** Told `rate-limited` since the bucket last had tokens. */
  limited: boolean;
  /** Messages dropped since it was told. */
  dropped: number;
  closed: boolean;
}

export class MessageBudget {
  private readonly buckets = new WeakMap<WebSocket, Bucket>();
  private readonly perSecond: number;
  private readonly burst: number;

  constructor(perSecond: number, burst: number) {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Charges a message of `length` (UTF-16 units or bytes) to its socket's bucket. */
  charge(ws: WebSocket, length: number, now: number): Verdict {
    let bucket = this.buckets.get(ws);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, at: now, limited: false, dropped: 0, closed: false };
      this.buckets.set(ws, bucket);
    }
    if (bucket.closed) return "drop";
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perSecond) / 1000);
    bucket.at = now;
    // Dropped messages are charged too, so a socket that keeps sending sinks deeper.
    bucket.tokens -= 1 + Math.floor(length / SOCKET_BYTES_PER_TOKEN);
    if (bucket.tokens >= 0) {
      bucket.limited = false;
      return "read";
    }
    // Told first, closed only if it keeps on.
    if (!bucket.limited) {
      bucket.limited = true;
      bucket.dropped = 0;
      return "limit";
    }
    if (++bucket.dropped >= SOCKET_DROPS_BEFORE_CLOSE) {
      bucket.closed = true;
      return "close";
    }
    return "drop";
  }

  /** Work done for the socket beyond reading its message (a large reply, a fresh fold): `tokens` more. */
  chargeWork(ws: WebSocket, tokens: number): void {
    const bucket = this.buckets.get(ws);
    if (bucket !== undefined) bucket.tokens -= tokens;
  }

  /** A message the tracker could not read costs BAD_MESSAGE_TOKENS in all. */
  chargeUnreadable(ws: WebSocket): void {
    const bucket = this.buckets.get(ws);
    if (bucket !== undefined) bucket.tokens -= BAD_MESSAGE_TOKENS - 1;
  }
}
