/**
 * Tells connected peers that the catalog's version moved, in two ways:
 *
 * - Every socket that asked for `sync` gets a CHANGED notice, coalesced: the
 *   first change after a quiet second is told NOTICE_DELAY_MS later (long
 *   enough to gather a burst), later ones at most once every
 *   NOTICE_INTERVAL_MS, always with the newest version. A burst of 1,000
 *   registrations is then a handful of notices per peer, not 1,000.
 * - A notice carries the change set since the previous notice when it is at
 *   most NOTICE_MAX_CHANGES_BYTES: every peer that was current applies it
 *   without a request. Pulling instead costs every peer a request a second
 *   under steady churn (BENCHMARKS.md, *Sync*). A larger change set, rare,
 *   is left to pulls.
 * - Once a notice is out, the runtime's auto-response is re-armed with the
 *   version it told (`pingFor(v)` → `pongFor(v)`, about 2 µs), so a peer
 *   whose ping carries it is answered without waking the object. Any other
 *   ping reaches the object and is answered with that version. Arming the
 *   told version rather than the newest keeps up-to-date peers' pings off
 *   the object under steady churn too (the newest moves between notices);
 *   what they have not been told yet comes with the next notice.
 *
 * The pair does not survive a restart, so the object arms it as it starts.
 * A pending notice keeps the object from hibernating until it is sent.
 */
import { changedNotice, changedNoticeWith, pingFor, pongFor, type Version } from "@p2p/shared";
import { isOpen } from "../connection.ts";

export const NOTICE_DELAY_MS = 50;
export const NOTICE_INTERVAL_MS = 1000;
export const NOTICE_MAX_CHANGES_BYTES = 16 * 1024;
/** Sockets sent a notice between two yields to the other requests. */
const NOTICE_SLICE = 64;

export class Notices {
  readonly #ctx: DurableObjectState;
  readonly #isWatching: (ws: WebSocket) => boolean;
  readonly #version: () => Version;
  /** The change set from a version to now, as JSON, or null if the log cannot tell. */
  readonly #changesSince: (version: Version) => string | null;
  /** The version the last notice told; watchers that were current have it. On a wake: the version then. */
  #told: Version;
  /** The sockets to tell; rebuilt from their attachments after the object wakes. */
  #watchers: Set<WebSocket> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSent = 0;
  #delivering: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, isWatching: (ws: WebSocket) => boolean, version: () => Version, changesSince: (version: Version) => string | null) {
    this.#ctx = ctx;
    this.#isWatching = isWatching;
    this.#version = version;
    this.#changesSince = changesSince;
    this.#told = version();
  }

  /** The version the last notice told (on a start, the version then). */
  get told(): Version {
    return this.#told;
  }

  /** Arms the auto-response with the told version. */
  arm(): void {
    this.#ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(pingFor(this.#told), pongFor(this.#told)));
  }

  /** The version peers hold now, told by other means (a shard first learning the global version from the hub); re-arms the pair. */
  adopt(version: Version): void {
    this.#told = version;
    this.arm();
  }

  /** The version moved. */
  moved(): void {
    if (this.#timer !== undefined) return;
    const now = Date.now();
    const at = Math.max(now + NOTICE_DELAY_MS, this.#lastSent + NOTICE_INTERVAL_MS);
    this.#timer = setTimeout(() => this.#send(), at - now);
  }

  watch(ws: WebSocket): void {
    this.#sockets().add(ws);
  }

  /** The socket is gone: not kept until the next notice finds it closed. */
  unwatch(ws: WebSocket): void {
    this.#watchers?.delete(ws);
  }

  #sockets(): Set<WebSocket> {
    this.#watchers ??= new Set(this.#ctx.getWebSockets().filter((ws) => isOpen(ws) && this.#isWatching(ws)));
    return this.#watchers;
  }

  #send(): void {
    this.#timer = undefined;
    this.#lastSent = Date.now();
    const version = this.#version();
    const watchers = [...this.#sockets()];
    // With no one to tell, the change set is not even folded.
    const changes = watchers.length === 0 ? null : this.#changesSince(this.#told);
    const notice = changes !== null && changes.length <= NOTICE_MAX_CHANGES_BYTES ? changedNoticeWith(version, this.#told, changes) : changedNotice(version);
    this.#told = version;
    // One delivery at a time, so that every socket gets the notices in order.
    this.#delivering = this.#delivering
      .then(() => this.#deliver(notice, watchers))
      .catch((error: unknown) => console.error("tracker: delivering a notice failed", error))
      .then(() => this.arm());
  }

  /**
   * Sends in slices, yielding between them: a send costs the runtime about
   * 0.15 ms here (BENCHMARKS.md, *Sync*), so a thousand in one go would hold
   * every request queued behind them for 150 ms. The pair is re-armed once
   * all were sent: until then a peer not yet told still matches the old one.
   */
  async #deliver(notice: string, watchers: readonly WebSocket[]): Promise<void> {
    for (let start = 0; start < watchers.length; start += NOTICE_SLICE) {
      if (start > 0) await new Promise((resolve) => setTimeout(resolve, 0));
      for (const ws of watchers.slice(start, start + NOTICE_SLICE)) {
        try {
          if (isOpen(ws)) ws.send(notice);
          else this.#watchers?.delete(ws);
        } catch {
          this.#watchers?.delete(ws);
        }
      }
    }
  }
}
