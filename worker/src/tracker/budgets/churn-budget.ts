/**
 * Each socket's churn budget: the bytes of register and unregister messages
 * it may send (CHURN_BYTES_PER_SECOND, bursts of CHURN_BURST_BYTES). Every
 * change reaches every syncing peer, so this bounds what one socket can make
 * the tracker send everyone; the bound on sockets per address bounds what
 * one client can. Kept per socket rather than per address so that many
 * users behind one address (a carrier-grade NAT) do not share one budget.
 * Like the message budget it lives in memory only: the runtime evicts an
 * object only after it has been idle, and a bucket lost then was refilling.
 */
import { ProtocolFailure } from "@p2p/shared";

interface Bucket {
  bytes: number;
  at: number;
}

export class ChurnBudget {
  private readonly buckets = new WeakMap<WebSocket, Bucket>();
  private readonly perSecond: number;
  private readonly burst: number;

  constructor(perSecond: number, burst: number) {
    this.perSecond = perSecond;
    this.burst = burst;
  }

  /** Takes `bytes` from the socket's budget, or throws `rate-limited` and takes nothing. */
  take(ws: WebSocket, bytes: number, now: number): void {
    let bucket = this.buckets.get(ws);
    if (bucket === undefined) this.buckets.set(ws, (bucket = { bytes: this.burst, at: now }));
    bucket.bytes = Math.min(this.burst, bucket.bytes + ((now - bucket.at) * this.perSecond) / 1000);
    bucket.at = now;
    if (bytes > bucket.bytes) {
      const wait = Math.ceil((bytes - bucket.bytes) / this.perSecond);
      throw new ProtocolFailure(
        "rate-limited",
        `this connection changed the catalog too fast (at most ${Math.round(this.perSecond / 1024)} KiB of register and unregister messages a second, bursts of ${Math.round(this.burst / 1024)} KiB); nothing was changed: try again in ${wait} s`,
      );
    }
    bucket.bytes -= bytes;
  }
}
