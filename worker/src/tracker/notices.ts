/**
 * Tells connected peers that the catalog's version moved, in two ways:
 *
 * - The runtime's auto-response is re-armed with the current version at
 *   once (`pingFor(v)` → `pongFor(v)`, about 2 µs), so a peer whose ping
 *   carries the current version is answered without waking the object, and
 *   any other ping reaches the object and is answered with the version.
 * - Every socket that asked for `sync` gets a CHANGED notice, coalesced: the
 *   first change after a quiet second is told NOTICE_DELAY_MS later (long
 *   enough to gather a burst), later ones at most once every
 *   NOTICE_INTERVAL_MS, always with the newest version. A burst of 1,000
 *   registrations is then a handful of notices per peer, not 1,000.
 *
 * The pair does not survive a restart, so the object arms it as it starts.
 * A notice lost to an eviction before its timer fired is made up for by the
 * next ping, which no longer matches the pair.
 */
import { changedNotice, pingFor, pongFor, type Version } from "@p2p/shared";
import { isOpen } from "./connection.ts";

export const NOTICE_DELAY_MS = 50;
export const NOTICE_INTERVAL_MS = 1000;

export class Notices {
  readonly #ctx: DurableObjectState;
  readonly #isWatching: (ws: WebSocket) => boolean;
  readonly #version: () => Version;
  /** The sockets to tell; rebuilt from their attachments after the object wakes. */
  #watchers: Set<WebSocket> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastSent = 0;

  constructor(ctx: DurableObjectState, isWatching: (ws: WebSocket) => boolean, version: () => Version) {
    this.#ctx = ctx;
    this.#isWatching = isWatching;
    this.#version = version;
  }

  /** Arms the auto-response with the current version. */
  arm(): void {
    const version = this.#version();
    this.#ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(pingFor(version), pongFor(version)));
  }

  /** The version moved. */
  moved(): void {
    this.arm();
    if (this.#timer !== undefined) return;
    const now = Date.now();
    const at = Math.max(now + NOTICE_DELAY_MS, this.#lastSent + NOTICE_INTERVAL_MS);
    this.#timer = setTimeout(() => this.#send(), at - now);
  }

  watch(ws: WebSocket): void {
    this.#sockets().add(ws);
  }

  #sockets(): Set<WebSocket> {
    this.#watchers ??= new Set(this.#ctx.getWebSockets().filter((ws) => isOpen(ws) && this.#isWatching(ws)));
    return this.#watchers;
  }

  #send(): void {
    this.#timer = undefined;
    this.#lastSent = Date.now();
    const notice = changedNotice(this.#version());
    const watchers = this.#sockets();
    for (const ws of watchers) {
      if (!isOpen(ws)) {
        watchers.delete(ws);
        continue;
      }
      try {
        ws.send(notice);
      } catch {
        watchers.delete(ws);
      }
    }
  }
}
