/**
 * The hub of a sharded tracker (SCALING.md): the one global version and its
 * change log. Shards publish their changes here, in order; the hub logs
 * them under global versions and tells every shard, coalesced, which tells
 * its peers and live pages exactly as one object does. It holds no socket
 * and no catalog: its load grows with shards and the broadcast rate, not
 * with peers.
 *
 * It also records which users each shard holds, so a shard that starts
 * over (a restart or a crash, which may have lost its last batch of writes)
 * has every user it had logged gone: peers' maps keep no ghost.
 */
import { DurableObject } from "cloudflare:workers";
import { parseVersion, type Version } from "@p2p/shared";
import { ChangeLog, LOG_BOUNDS, type Change } from "../tracker/sync/change-log.ts";
import { foldChanges } from "../tracker/sync/delta.ts";
import { NOTICE_MAX_CHANGES_BYTES } from "../tracker/sync/notices.ts";
import { allShards, shardCount } from "./placement.ts";

/**
 * Publishes gathered into one broadcast to every shard: 20 ms, or longer with
 * many shards, so the hub's calls stay near N × 50 a second at most even for
 * large N (SCALING.md).
 */
export const broadcastDelayMs = (shards: number): number => Math.max(20, 2 * shards);

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS hub_users (user TEXT PRIMARY KEY, shard INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS hub_shards (shard INTEGER PRIMARY KEY, epoch TEXT NOT NULL, started INTEGER NOT NULL, seq INTEGER NOT NULL);
  CREATE TABLE IF NOT EXISTS hub_told (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL);
`;

/** Answers kept for one version, and their bytes together, as on one object (sync-answers.ts). */
const MAX_ANSWERS = 64;
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** A run of one shard's changes: its epoch, when that began, and the seq before the first. */
export interface Publication {
  shard: number;
  epoch: string;
  /** When the epoch began (ms): a publication of an older epoch than the hub knows is a dead instance's, still in flight, and is ignored. */
  started: number;
  from: number;
  changes: Change[];
}

export class TrackerHub extends DurableObject {
  readonly #log: ChangeLog;
  /** The version the last broadcast told the shards. */
  #told: Version;
  /** Folded answers to `changesSince`, kept until the version moves: peers behind on many shards ask the same. */
  readonly #answers = new Map<string, { version: Version; json: string; folded: number }>();
  #answersFor: Version | null = null;
  #answerBytes = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerSetAt = 0;
  #broadcasting: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
    // No socket ever lives here: the epoch goes on across evictions and restarts, and moves only if storage is lost.
    this.#log = new ChangeLog(ctx.storage.sql, LOG_BOUNDS, false);
    const told = ctx.storage.sql.exec<{ version: string }>("SELECT version FROM hub_told WHERE id = 1").toArray()[0]?.version;
    this.#told = told ?? this.#log.version;
    if (told === undefined) ctx.storage.sql.exec("INSERT INTO hub_told (id, version) VALUES (1, ?)", this.#told);
  }

  /** A broadcast the last instance did not make (it restarted before its timer ran) is made now. */
  override async alarm(): Promise<void> {
    await (this.#broadcasting = this.#broadcasting.then(() => this.#broadcast()));
  }

  version(): Version {
    return this.#log.version;
  }

  /**
   * Logs a shard's changes under global versions, skipping any it published
   * before (a retry after a lost answer). A new epoch of the shard means it
   * started over: every user it held is logged gone first.
   */
  publish(publication: Publication): Version {
    const sql = this.ctx.storage.sql;
    const { shard, epoch, started, from, changes } = publication;
    // The timer below is the fast path; this alarm outlives a restart, so no published change goes untold.
    void this.ctx.storage.setAlarm(Date.now() + 1000);
    this.ctx.storage.transactionSync(() => {
      const known = sql.exec<{ epoch: string; started: number; seq: number }>("SELECT epoch, started, seq FROM hub_shards WHERE shard = ?", shard).toArray()[0];
      if (known !== undefined && known.epoch !== epoch && started <= known.started) return;
      let skip = 0;
      if (known === undefined || known.epoch !== epoch) {
        for (const { user } of sql.exec<{ user: string }>("SELECT user FROM hub_users WHERE shard = ?", shard).toArray()) this.#record({ kind: "user-gone", user }, shard);
      } else skip = Math.max(0, known.seq - from);
      for (const change of changes.slice(skip)) this.#record(change, shard);
      sql.exec(
        "INSERT OR REPLACE INTO hub_shards (shard, epoch, started, seq) VALUES (?, ?, ?, ?)",
        shard,
        epoch,
        started,
        Math.max(from + changes.length, known?.epoch === epoch ? known.seq : 0),
      );
    });
    this.#schedule();
    return this.#log.version;
  }

  /**
   * The change set from `since` to `upTo` (the asking shard's version, so the
   * copy lands on a version that shard's notices follow), and how many
   * changes were folded for it (0 when kept from an earlier ask; the shard
   * charges the asking socket). Null when the log cannot tell.
   */
  changesSince(since: Version, upTo: Version = this.#log.version): { version: Version; json: string; folded: number } | null {
    const from = parseVersion(since);
    const to = parseVersion(upTo);
    if (from.epoch !== this.#log.epoch || to.epoch !== this.#log.epoch || from.seq > to.seq || to.seq > this.#log.seq || !this.#log.covers(from.seq)) return null;
    if (this.#answersFor !== this.#log.version || this.#answers.size >= MAX_ANSWERS || this.#answerBytes > MAX_ANSWER_BYTES) {
      this.#answers.clear();
      this.#answerBytes = 0;
      this.#answersFor = this.#log.version;
    }
    const key = `${since} ${upTo}`;
    const kept = this.#answers.get(key);
    if (kept) return { ...kept, folded: 0 };
    const changes = (this.#log.since(from.seq) ?? []).slice(0, to.seq - from.seq);
    const answer = { version: upTo, json: JSON.stringify(foldChanges(changes)), folded: changes.length };
    this.#answers.set(key, answer);
    this.#answerBytes += answer.json.length;
    return answer;
  }

  #record(change: Change, shard: number): void {
    const sql = this.ctx.storage.sql;
    this.#log.record(change)();
    if (change.kind === "user") sql.exec("INSERT OR REPLACE INTO hub_users (user, shard) VALUES (?, ?)", change.user, shard);
    else if (change.kind === "user-gone") sql.exec("DELETE FROM hub_users WHERE user = ? AND shard = ?", change.user, shard);
  }

  #schedule(): void {
    const delay = broadcastDelayMs(shardCount(this.env));
    if (this.#timer !== undefined) {
      // Under a steady stream of publications the timer may not get a turn: one that comes once the delay is over broadcasts at once.
      if (Date.now() - this.#timerSetAt < delay) return;
      clearTimeout(this.#timer);
      this.#startBroadcast();
      return;
    }
    this.#timerSetAt = Date.now();
    this.#timer = setTimeout(() => this.#startBroadcast(), delay);
  }

  #startBroadcast(): void {
    this.#timer = undefined;
    this.#broadcasting = this.#broadcasting.then(() => this.#broadcast()).catch((error: unknown) => console.error("hub: a broadcast failed", error));
  }

  /** Tells every shard the new version, with the change set since the last broadcast when it is small. */
  async #broadcast(): Promise<void> {
    const version = this.#log.version;
    if (version === this.#told) return;
    const from = this.#told;
    const delta = this.changesSince(from);
    const changes = delta !== null && delta.json.length <= NOTICE_MAX_CHANGES_BYTES ? delta.json : null;
    const results = await Promise.allSettled(allShards(this.env, shardCount(this.env)).map((shard) => shard.globalMoved(version, from, changes)));
    for (const result of results) if (result.status === "rejected") console.error("hub: a shard was not told of", version, result.reason);
    this.#told = version;
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO hub_told (id, version) VALUES (1, ?)", version);
    if (this.#log.version === version) await this.ctx.storage.deleteAlarm();
  }
}
