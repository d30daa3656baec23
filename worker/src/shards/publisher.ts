/**
 * A shard's side of the hub (hub.ts): its changes go to the hub in order,
 * gathered as long as the hub gathers a broadcast, one publication in flight, retried until
 * the hub has them. What was published is kept with the change log, so a
 * wake-up goes on where it stopped and a new epoch (a fresh start) starts
 * the shard over at the hub.
 */
import type { Change, ChangeLog } from "../tracker/sync/change-log.ts";
import { broadcastDelayMs, type Publication, type TrackerHub } from "./hub.ts";

const RETRY_MS = [100, 250, 500, 1000, 2000, 5000];
/** Changes in one publication: a few hundred KB at most, far below an RPC's bound. */
const MAX_PER_PUBLICATION = 2000;

export class Publisher {
  readonly #sql: SqlStorage;
  readonly #log: ChangeLog;
  readonly #shard: number;
  /** Changes gathered into one publication: as long as the hub gathers them into a broadcast (hub.ts). */
  readonly #delayMs: number;
  readonly #hub: () => DurableObjectStub<TrackerHub>;
  readonly #acknowledged: (version: string) => void;
  /** This shard's users and files now, as changes: what the hub is sent when the log no longer holds what it missed. */
  readonly #stateNow: () => Change[];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerSetAt = 0;
  #inFlight = false;
  #failures = 0;

  constructor(
    sql: SqlStorage,
    log: ChangeLog,
    shard: number,
    shards: number,
    hub: () => DurableObjectStub<TrackerHub>,
    acknowledged: (version: string) => void,
    stateNow: () => Change[],
  ) {
    this.#sql = sql;
    this.#log = log;
    this.#shard = shard;
    this.#delayMs = broadcastDelayMs(shards);
    this.#hub = hub;
    this.#acknowledged = acknowledged;
    this.#stateNow = stateNow;
    // hub_epoch and hub_started: what the hub knows this shard by; the local epoch, unless the shard was sent over whole.
    sql.exec(
      "CREATE TABLE IF NOT EXISTS shard_published (id INTEGER PRIMARY KEY CHECK (id = 1), epoch TEXT NOT NULL, hub_epoch TEXT NOT NULL, hub_started INTEGER NOT NULL, seq INTEGER NOT NULL)",
    );
  }

  /** The seq of this epoch the hub has (-1: nothing of this epoch, not even that it began), and the epoch the hub knows. */
  #published(): { seq: number; hubEpoch: string; hubStarted: number } {
    const row = this.#sql
      .exec<{ epoch: string; hub_epoch: string; hub_started: number; seq: number }>("SELECT epoch, hub_epoch, hub_started, seq FROM shard_published WHERE id = 1")
      .toArray()[0];
    if (row !== undefined && row.epoch === this.#log.epoch) return { seq: row.seq, hubEpoch: row.hub_epoch, hubStarted: row.hub_started };
    return { seq: -1, hubEpoch: this.#log.epoch, hubStarted: this.#log.startedAt ?? Date.now() };
  }

  /** Whether changes are waiting for the hub (a wake-up checks). */
  get behind(): boolean {
    return this.#published().seq < this.#log.seq;
  }

  /** The log moved (or a wake-up found it ahead of the hub): publish soon. */
  moved(delay = this.#delayMs): void {
    if (this.#inFlight) return;
    if (this.#timer !== undefined) {
      // Under a steady stream of messages the object's timers may not get a turn: a change that comes once the delay is over publishes at once.
      if (Date.now() - this.#timerSetAt < delay) return;
      clearTimeout(this.#timer);
      this.#timer = undefined;
      void this.#publish();
      return;
    }
    this.#timerSetAt = Date.now();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#publish();
    }, delay);
  }

  async #publish(): Promise<void> {
    const { seq: published, hubEpoch, hubStarted } = this.#published();
    if (published >= this.#log.seq) return;
    const from = Math.max(0, published);
    const logged = this.#log.since(from);
    // The log no longer holds what the hub missed: the shard starts over there, under a new epoch, with its whole state.
    const whole = logged === null ? this.#stateNow() : null;
    const publication: Publication =
      whole === null
        ? { shard: this.#shard, epoch: hubEpoch, started: hubStarted, from, changes: logged!.slice(0, MAX_PER_PUBLICATION) }
        : { shard: this.#shard, epoch: `${this.#log.epoch}.${this.#log.seq}`, started: Math.max(Date.now(), hubStarted + 1), from: this.#log.seq - whole.length, changes: whole };
    this.#inFlight = true;
    try {
      const version = await this.#hub().publish(publication);
      this.#sql.exec(
        "INSERT OR REPLACE INTO shard_published (id, epoch, hub_epoch, hub_started, seq) VALUES (1, ?, ?, ?, ?)",
        this.#log.epoch,
        publication.epoch,
        publication.started,
        publication.from + publication.changes.length,
      );
      this.#failures = 0;
      this.#acknowledged(version);
    } catch (error) {
      console.error(`shard ${this.#shard}: publishing to the hub failed; retrying`, error);
      this.#failures++;
    } finally {
      this.#inFlight = false;
    }
    if (this.behind) this.moved(this.#failures === 0 ? 0 : RETRY_MS[Math.min(this.#failures, RETRY_MS.length) - 1]);
  }
}
