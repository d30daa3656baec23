/**
 * The catalog's version and a bounded log of what changed, so a peer that
 * knows an earlier version is sent the changes since rather than the whole
 * catalog. Both live in the object's SQLite storage (written in the store's
 * batches, in the same transaction as the change itself) and in memory, so
 * they survive hibernation and restarts.
 *
 * A version is `<epoch>-<seq>`. The seq moves with every change. The epoch
 * is new whenever storage may be behind what peers were told: when the
 * object starts with no socket (a first start, a restart or deploy, which
 * closes every socket, or a crash, which may also have lost the last batch)
 * and when a lost write resets the store. Versions of another epoch, too old
 * for the log, or ahead of it get a snapshot. Starting with sockets still
 * open is waking from hibernation: every batch was stored long before the
 * runtime could evict the object, so the log goes on.
 *
 * The log keeps the newest changes within LOG_MAX_BYTES and LOG_MAX_ENTRIES;
 * older ones are dropped (from memory and storage) as new ones come in.
 */
import type { FileEntry, Reachable, Version } from "@p2p/shared";
import { formatVersion } from "@p2p/shared";

export type Change =
  | { kind: "user"; user: string; host: string; port: number; reachable?: Reachable }
  | { kind: "user-gone"; user: string }
  | { kind: "files"; user: string; files: readonly FileEntry[] }
  | { kind: "files-gone"; user: string; paths: readonly string[] };

export interface LogBounds {
  /** The stored changes' JSON, together. Peers a second behind need a few KB; this keeps minutes of ordinary churn. */
  maxBytes: number;
  maxEntries: number;
}

// Four times the largest message: no one register or unregister clears the log, which would send every peer a snapshot.
export const LOG_BOUNDS: LogBounds = { maxBytes: 4 * 1024 * 1024, maxEntries: 10_000 };

interface Entry {
  seq: number;
  change: Change;
  bytes: number;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sync_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS changes (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
`;

const newEpoch = (): string => crypto.randomUUID().replace(/-/g, "").slice(0, 12);

export class ChangeLog {
  readonly #sql: SqlStorage;
  readonly #bounds: LogBounds;
  #epoch = "";
  #seq = 0;
  /** When this epoch began (ms since 1970), for the stats; null for an epoch stored before it was recorded. */
  #startedAt: number | null = null;
  /** The oldest version the log can bring up to date: every change after it is kept. */
  #floor = 0;
  /** The kept entries are #entries[#head…], consecutive from #floor + 1. */
  #entries: Entry[] = [];
  #head = 0;
  #bytes = 0;
  #loaded = true;

  /** `fresh`: the object starts with no socket open (see above), so a new epoch begins. */
  constructor(sql: SqlStorage, bounds: LogBounds, fresh: boolean) {
    this.#sql = sql;
    this.#bounds = bounds;
    sql.exec(SCHEMA);
    const meta = new Map(sql.exec<{ key: string; value: string }>("SELECT key, value FROM sync_meta").toArray().map((row) => [row.key, row.value]));
    const epoch = meta.get("epoch");
    if (fresh || epoch === undefined) {
      this.#startEpoch()();
      return;
    }
    this.#epoch = epoch;
    this.#seq = Number(meta.get("seq") ?? 0);
    const started = Number(meta.get("started"));
    this.#startedAt = Number.isFinite(started) && started > 0 ? started : null;
    this.#loaded = false;
  }

  /**
   * The entries are read back when first needed, not on every wake-up: an
   * object woken by its heartbeat sweep, or by a ping, needs only the version.
   */
  #load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    for (const row of this.#sql.exec<{ seq: number; body: string }>("SELECT seq, body FROM changes ORDER BY seq")) {
      this.#entries.push({ seq: row.seq, change: JSON.parse(row.body) as Change, bytes: row.body.length });
      this.#bytes += row.body.length;
    }
    this.#floor = this.#entries.length > 0 ? this.#entries[0]!.seq - 1 : this.#seq;
    const trimmedTo = this.#trim();
    if (trimmedTo !== null) this.#sql.exec("DELETE FROM changes WHERE seq <= ?", trimmedTo);
  }

  get version(): Version {
    return formatVersion(this.#epoch, this.#seq);
  }

  get epoch(): string {
    return this.#epoch;
  }

  get seq(): number {
    return this.#seq;
  }

  get startedAt(): number | null {
    return this.#startedAt;
  }

  /** Moves the version and keeps the change; returns what to store, in the batch that stores the change. */
  record(change: Change): () => void {
    this.#load();
    const seq = ++this.#seq;
    const body = JSON.stringify(change);
    this.#entries.push({ seq, change, bytes: body.length });
    this.#bytes += body.length;
    const trimmedTo = this.#trim();
    const sql = this.#sql;
    return () => {
      sql.exec("INSERT INTO changes (seq, body) VALUES (?, ?)", seq, body);
      sql.exec("INSERT OR REPLACE INTO sync_meta (key, value) VALUES ('seq', ?)", String(seq));
      if (trimmedTo !== null) sql.exec("DELETE FROM changes WHERE seq <= ?", trimmedTo);
    };
  }

  /** Whether the log can bring a copy at `seq` (of this epoch) up to date. */
  covers(seq: number): boolean {
    this.#load();
    return seq >= this.#floor && seq <= this.#seq;
  }

  /** The stored size of the changes after `seq` (which `covers`), counted from the newest and stopping once past `enough`. */
  bytesSince(seq: number, enough: number): number {
    this.#load();
    let bytes = 0;
    for (let i = this.#entries.length - 1; i >= this.#head && this.#entries[i]!.seq > seq && bytes <= enough; i--) bytes += this.#entries[i]!.bytes;
    return bytes;
  }

  /**
   * The changes after `seq` of this epoch, oldest first; null when the log
   * cannot tell (too old, or ahead of the current version).
   */
  since(seq: number): readonly Change[] | null {
    if (!this.covers(seq)) return null;
    return this.#entries.slice(this.#head + seq - this.#floor).map((entry) => entry.change);
  }

  /** A new epoch with an empty log (the store was reset); returns what to store. */
  reset(): () => void {
    return this.#startEpoch();
  }

  #startEpoch(): () => void {
    this.#loaded = true;
    this.#epoch = newEpoch();
    this.#seq = 0;
    this.#startedAt = Date.now();
    this.#floor = 0;
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    const sql = this.#sql;
    const epoch = this.#epoch;
    const started = String(this.#startedAt);
    const store = () => {
      sql.exec("DELETE FROM changes");
      sql.exec("INSERT OR REPLACE INTO sync_meta (key, value) VALUES ('epoch', ?), ('seq', '0'), ('started', ?)", epoch, started);
    };
    return store;
  }

  /** Drops the oldest entries beyond the bounds; returns the newest seq dropped, if any. */
  #trim(): number | null {
    const start = this.#head;
    while (this.#head < this.#entries.length && (this.#bytes > this.#bounds.maxBytes || this.#entries.length - this.#head > this.#bounds.maxEntries)) {
      this.#bytes -= this.#entries[this.#head]!.bytes;
      this.#head++;
    }
    if (this.#head === start) return null;
    this.#floor = this.#entries[this.#head - 1]!.seq;
    // Dropped entries are let go in one copy once they are half the array, not one by one.
    if (this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return this.#floor;
  }
}
