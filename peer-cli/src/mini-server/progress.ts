/**
 * Whether a mini-server connection is getting anything out of its slot:
 * waiting between requests, an answer the client has stopped taking, or a
 * trickle of bytes. Admission uses it, when the server is full, to pick the
 * connection that gives way to a newcomer; a connection whose answer keeps
 * moving, or that waits on our own disk or hashing, always counts as making
 * progress.
 */

export interface ProgressRules {
  /** Nothing asked and nothing being answered for longer than this: "idle". */
  idleGraceMs: number;
  /** Answer bytes waiting for the client, none taken, for longer than this: "stalled". */
  stallGraceMs: number;
  /** Open this long, and took fewer than `minWindowBytes` over the last `windowMs`: "trickling". */
  windowMs: number;
  minWindowBytes: number;
}

export type NoProgress = {
  reason: "idle" | "stalled" | "trickling";
  /** When that began, for picking the longest-standing case first. */
  since: number;
};

/** Slots of the sliding window over recent bytes. */
const WINDOW_SLOTS = 10;

export class Progress {
  readonly #rules: ProgressRules;
  readonly #openedAt = performance.now();
  /** Set while waiting for a request line; a new connection waits for its first. */
  #idleSince: number | undefined = this.#openedAt;
  /** Bytes handed to the socket that it has not yet passed on to the client. */
  #untaken = 0;
  /** Since when the client has had untaken bytes without taking any. */
  #waitingSince = 0;
  /** Bytes taken per slot of windowMs / WINDOW_SLOTS, the current slot being #slot. */
  readonly #taken: number[] = new Array<number>(WINDOW_SLOTS).fill(0);
  #slot = 0;

  constructor(rules: ProgressRules) {
    this.#rules = rules;
  }

  /** Waiting for the next request line. */
  waiting(): void {
    this.#idleSince ??= performance.now();
  }

  /** A request line arrived and is being answered. */
  answering(): void {
    this.#idleSince = undefined;
  }

  /** `bytes` were handed to the socket. */
  wrote(bytes: number): void {
    if (this.#untaken === 0) this.#waitingSince = performance.now();
    this.#untaken += bytes;
  }

  /** The socket passed `bytes` on towards the client. */
  taken(bytes: number): void {
    const now = performance.now();
    this.#untaken -= bytes;
    this.#waitingSince = now;
    this.#advance(now);
    this.#taken[this.#slot % WINDOW_SLOTS] = (this.#taken[this.#slot % WINDOW_SLOTS] ?? 0) + bytes;
  }

  /** Bytes taken over about the last windowMs. */
  recentBytes(now: number): number {
    this.#advance(now);
    return this.#taken.reduce((sum, bytes) => sum + bytes, 0);
  }

  /** Why this connection makes no progress, or undefined when it does. */
  lack(now: number): NoProgress | undefined {
    const rules = this.#rules;
    if (this.#idleSince !== undefined && now - this.#idleSince > rules.idleGraceMs) return { reason: "idle", since: this.#idleSince };
    if (this.#untaken > 0 && now - this.#waitingSince > rules.stallGraceMs) return { reason: "stalled", since: this.#waitingSince };
    // Our own work (reading the disk, hashing a piece map) is never the client's fault.
    const working = this.#idleSince === undefined && this.#untaken === 0;
    if (!working && now - this.#openedAt > rules.windowMs && this.recentBytes(now) < rules.minWindowBytes) {
      return { reason: "trickling", since: this.#openedAt };
    }
    return undefined;
  }

  /** Moves the window on to `now`, forgetting slots that fell out of it. */
  #advance(now: number): void {
    const slot = Math.floor(now / Math.max(1, this.#rules.windowMs / WINDOW_SLOTS));
    for (let next = this.#slot + 1; next <= slot && next <= this.#slot + WINDOW_SLOTS; next++) this.#taken[next % WINDOW_SLOTS] = 0;
    this.#slot = Math.max(this.#slot, slot);
  }
}
