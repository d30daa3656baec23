/**
 * The single Durable Object that knows who is online and what they offer.
 * Sockets are accepted with the hibernation API: the object may be evicted
 * while they stay open, so nothing here lives only in memory, except each
 * socket's message budget, which is safe to lose (see message-budget.ts).
 */
import { DurableObject } from "cloudflare:workers";
import {
  CLOSE_NO_HEARTBEAT,
  CLOSE_POLICY_VIOLATION,
  CLOSE_STORAGE_FAILED,
  FOLDED_CHANGES_PER_TOKEN,
  MAX_PAGE_LIMIT,
  MAX_REPLY_BYTES,
  REPLY_BYTES_PER_TOKEN,
  SCANNED_BYTES_PER_TOKEN,
  PING,
  PONG,
  ProtocolFailure,
  isNewer,
  parseRequest,
  parseVersion,
  pongFor,
  type ErrorReply,
  type ListedUser,
  type Reachable,
  type RequestType,
  type TrackerReply,
  type TrackerRequest,
  type TrackerStats,
  type Version,
} from "@p2p/shared";
import { hubStub, placeOf, shardCount, shardOfName, shardStub, type ShardPlace } from "../shards/placement.ts";
import { Publisher } from "../shards/publisher.ts";
import { RecentChanges } from "../shards/recent-changes.ts";
import { ShardReads, type LocalReads, type LocalStats } from "../shards/shard-reads.ts";
import { budgetsFrom, type Budgets } from "./budgets/budgets.ts";
import { ChangeLog, LOG_BOUNDS, type Change } from "./sync/change-log.ts";
import { ChurnBudget } from "./budgets/churn-budget.ts";
import { commands, type CommandContext } from "./commands.ts";
import {
  OBSERVER_TAG,
  addressTag,
  closeQuietly,
  connTag,
  isOpen,
  observerAddressTag,
  readConnection,
  writeConnection,
  type Connection,
} from "./connection.ts";
import { MessageBudget } from "./budgets/message-budget.ts";
import { NOTICE_MAX_CHANGES_BYTES, Notices } from "./sync/notices.ts";
import { PAGE_ENTRY_BYTES, filesPage, filesPageJson, isPaged, usersPage, usersPageJson, type FilesQuery, type Page, type UsersQuery } from "./paging.ts";
import { PageViews, countBefore, localUsersWithFiles, storeSource, type PageQuery, type PageView } from "./page-view.ts";
import { DEFAULT_PROBE_LIMITS, Reachability } from "./reachability/reachability.ts";
import { Serialized } from "./serialized.ts";
import { TrackerStore } from "./store.ts";
import { SyncAnswers } from "./sync/sync-answers.ts";

/** The worker passes the peer's address to the object in this header. */
export const PEER_HOST_HEADER = "X-P2P-Peer-Host";
/** The path a live page's socket comes to; peers come to any other (the worker sends them /ws). */
export const LIVE_PATH = "/live";

/**
 * A peer that has not pinged for this long is gone even if its socket never
 * closed (a killed machine, a cut network). Peers ping every 10 s.
 */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 45_000;
/** Replies queued for one socket and not yet sent: two of the largest a peer ever waits for. */
const MAX_UNSENT_BYTES = 2 * MAX_REPLY_BYTES;
/** Sweeps never follow each other closer than this, however the sockets' times fall. */
const MIN_SWEEP_GAP_MS = 100;

export class Tracker extends DurableObject implements LocalReads {
  private readonly budgets: Budgets;
  /** Which shard this object is when the tracker is sharded (SCALING.md); null for the one object. */
  private readonly place: ShardPlace | null;
  /** Sharded: this shard's changes on their way to the hub. */
  private readonly publisher: Publisher | null = null;
  /** Sharded: reads that ask every shard. */
  private readonly shardReads: ShardReads | null = null;
  /** Sharded: the global version as the hub last told it. */
  private global: { version: Version } | null = null;
  /** Sharded: the change sets of the last broadcasts, for notices and for syncs from a recent version. */
  private readonly recent = new RecentChanges();
  /** Sharded: each socket's message being handled, which the next one waits for. */
  private readonly inTurn = new WeakMap<WebSocket, Promise<void>>();
  /** Sharded: the last snapshot gathered, kept for its global version (after a notice, many peers may ask at once). */
  private snapshot: { version: Version; json: string } | null = null;
  private openedStore: TrackerStore | undefined;
  private readonly log: ChangeLog;
  private readonly notices: Notices;
  private readonly sync: SyncAnswers;
  private readonly messageBudget: MessageBudget;
  private readonly churnBudget: ChurnBudget;
  /** The one reply a socket gets when its budget runs dry; the message it answers was never read. */
  private readonly rateLimited: string;
  private readonly reachability: Reachability;
  private readonly pageViews = new PageViews();

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.place = placeOf(ctx.id.name);
    // A sharded tracker whose object cannot tell which shard it is would quietly act as the one object: refuse instead.
    if (this.place === null && shardCount(env) > 1 && ctx.id.name !== "tracker") {
      throw new Error(`TRACKER_SHARDS is ${shardCount(env)}, but this object (named ${JSON.stringify(ctx.id.name)}) is not one of its shards`);
    }
    this.budgets = budgetsFrom(env);
    // A full listing gathers every shard's, and must stay within what peers accept: each shard holds its share of the catalog.
    if (this.place) this.budgets.catalogBytes = Math.floor(this.budgets.catalogBytes / this.place.count);
    this.messageBudget = new MessageBudget(this.budgets.tokensPerSecond, this.budgets.tokenBurst);
    this.churnBudget = new ChurnBudget(
      { perSecond: this.budgets.churnBytesPerSecond, burst: this.budgets.churnBurstBytes },
      { perSecond: this.budgets.churnAddressBytesPerSecond, burst: this.budgets.churnAddressBurstBytes },
    );
    this.rateLimited = JSON.stringify({
      id: null,
      ok: false,
      error: {
        code: "rate-limited",
        message: `this connection sent more than its budget (${this.budgets.tokensPerSecond} messages a second, bursts of ${this.budgets.tokenBurst}; large and malformed messages count more); messages are dropped until it slows down, and it is closed if it goes on`,
      },
    } satisfies ErrorReply);
    // No socket survives a restart; waking from hibernation keeps them (change-log.ts).
    const fresh = ctx.getWebSockets().length === 0;
    this.log = new ChangeLog(ctx.storage.sql, LOG_BOUNDS, fresh);
    if (this.place) {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS shard_global (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL)");
      const known = ctx.storage.sql.exec<{ version: string }>("SELECT version FROM shard_global WHERE id = 1").toArray()[0];
      if (known) this.global = { version: known.version };
    }
    // Sharded, peers are told the global version, as the hub broadcasts it; one object tells its own.
    this.notices = new Notices(
      ctx,
      (ws) => readConnection(ws)?.watching === true,
      this.place ? () => this.globalVersion() : () => this.log.version,
      this.place ? (version) => this.recent.since(version)?.json ?? null : (version) => this.sync.smallChangesJson(version, NOTICE_MAX_CHANGES_BYTES),
    );
    const probeTimeout = Number(env.PROBE_TIMEOUT_MS);
    this.reachability = new Reachability(() => ctx.getWebSockets(), {
      ...DEFAULT_PROBE_LIMITS,
      ...(Number.isFinite(probeTimeout) && probeTimeout > 0 ? { timeoutMs: probeTimeout } : {}),
      loopbackOnly: env.PROBE_LOOPBACK_ONLY === "1",
    }, (user, conn) => {
      if (this.store.holderOf(user) === conn) this.store.touchUser(user);
    });
    this.sync = new SyncAnswers(() => this.store, this.log, this.reachableOf);
    if (this.place) {
      const { index, count } = this.place;
      this.publisher = new Publisher(
        ctx.storage.sql,
        this.log,
        index,
        count,
        () => hubStub(env, count),
        (version) => {
          if (this.global === null) this.learnGlobal(version);
        },
        () => this.stateNow(),
      );
      this.shardReads = new ShardReads(this, () => Array.from({ length: count - 1 }, (_, i) => shardStub(env, i >= index ? i + 1 : i, count)));
    }
    this.notices.arm();
    // A start without sockets (a restart or deploy) opens the store at once, so storage holds no ghosts.
    if (fresh) this.openStore();
    // A shard tells the hub what it has not yet, a fresh start included (the hub then drops what it held before).
    if (this.publisher?.behind) this.publisher.moved();
  }

  /** Sharded: the global version this shard's peers were last told of (before the hub first answers: a placeholder no peer holds). */
  private globalVersion(): Version {
    return this.global?.version ?? "unknown-0";
  }

  /** Sharded: a shard that has not heard from the hub yet asks it, so its first answers carry the global version. */
  private async knowGlobal(): Promise<void> {
    if (this.place && this.global === null) this.learnGlobal(await hubStub(this.env, this.place.count).version());
  }

  /** Sharded: the hub moved the global version (hub.ts); this shard's peers and pages are told, as one object tells them. */
  globalMoved(version: Version, from: Version, changes: string | null): void {
    const known = this.global?.version;
    if (known !== undefined && parseVersion(version).epoch === parseVersion(known).epoch && !isNewer(version, known)) return;
    this.recent.add(from, version, changes);
    this.learnGlobal(version, from);
    this.notices.moved();
  }

  /** `toldBefore`: what peers hold when this is the first version the shard learns (a broadcast's `from`). */
  private learnGlobal(version: Version, toldBefore: Version = version): void {
    const first = this.global === null;
    this.global = { version };
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO shard_global (id, version) VALUES (1, ?)", version);
    // Until now notices told a placeholder: the next notice would carry no change set, and up-to-date peers' pings would wake the shard.
    if (first) this.notices.adopt(toldBefore);
  }

  /** Sharded: this shard's users and files as changes, for a hub that lost track of them (publisher.ts). */
  private stateNow(): Change[] {
    const store = this.store;
    return store.listUsers().flatMap(({ user, host, port }): Change[] => {
      const entries = (store.filesOf(user)?.sorted() ?? []).map(({ path, row }) => ({ path, size: row.size, root: row.root }));
      const userChange: Change = { kind: "user", user, host, port, reachable: this.reachableOf(user) };
      return entries.length > 0 ? [userChange, { kind: "files", user, files: entries }] : [userChange];
    });
  }

  /** What the probe found for a user, as listings and change sets show it. */
  private readonly reachableOf = (user: string): Reachable => this.reachability.reachableOf(this.store, user);

  /**
   * The users and files, read from storage when first needed rather than on
   * every start: a wake-up for the heartbeat sweep or a stale ping then
   * costs the sockets, not the catalog (236 ms at 50,000 entries, against
   * 4 ms). Users without a live socket are ghosts of a restart: dropped as it opens.
   */
  private get store(): TrackerStore {
    return this.openStore();
  }

  private openStore(): TrackerStore {
    if (this.openedStore === undefined) {
      this.openedStore = new TrackerStore({
        sql: this.ctx.storage.sql,
        transaction: (fn) => this.ctx.storage.transactionSync(fn),
        budgets: this.budgets,
        onWriteFailure: (error) => this.storageFailed(error),
        onChange: (change) => this.changed(change),
      });
      this.openedStore.dropUsersExcept(this.liveUsers());
    }
    return this.openedStore;
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const seenHost = request.headers.get(PEER_HOST_HEADER) ?? "127.0.0.1";
    await this.knowGlobal();
    if (new URL(request.url).pathname === LIVE_PATH) return this.acceptObserver(seenHost);
    const fromHere = this.ctx.getWebSockets(addressTag(seenHost)).filter(isOpen).length;
    if (fromHere >= this.budgets.socketsPerAddress) {
      const message = `${seenHost} already has ${fromHere} open connections; at most ${this.budgets.socketsPerAddress} are allowed per address`;
      return Response.json({ error: { code: "too-many-connections", message } }, { status: 429 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    const conn = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [connTag(conn), addressTag(seenHost)]);
    writeConnection(server, { conn, seenHost, host: seenHost, port: null, user: null, since: Date.now() });
    await this.armSweep();
    return new Response(null, { status: 101, webSocket: client });
  }

  /**
   * A live page's socket: told of every change like a syncing peer, and
   * pinging like one (so the auto-response keeps an idle page off the
   * object), but never a peer: it cannot hello or register, and has bounds
   * of its own.
   */
  private async acceptObserver(seenHost: string): Promise<Response> {
    const fromHere = this.ctx.getWebSockets(observerAddressTag(seenHost)).filter(isOpen).length;
    if (fromHere >= this.budgets.observersPerAddress) {
      const message = `${seenHost} already watches the live page ${fromHere} times; at most ${this.budgets.observersPerAddress} pages are allowed per address`;
      return Response.json({ error: { code: "too-many-connections", message } }, { status: 429 });
    }
    const watching = this.ctx.getWebSockets(OBSERVER_TAG).filter(isOpen).length;
    if (watching >= this.budgets.observers) {
      const message = `${watching} pages already watch this tracker, as many as it allows; reload later`;
      return Response.json({ error: { code: "too-many-connections", message } }, { status: 503 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    const conn = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [connTag(conn), OBSERVER_TAG, observerAddressTag(seenHost)]);
    writeConnection(server, { conn, seenHost, host: seenHost, port: null, user: null, since: Date.now(), watching: true, observer: true });
    this.notices.watch(server);
    await this.armSweep();
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Silent sockets, peers' or pages', are swept: the sweep runs while any socket is open. */
  private async armSweep(): Promise<void> {
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.heartbeatTimeout() + 1);
  }

  /**
   * The heartbeat sweep: closes sockets whose peer stopped pinging, and
   * forgets their users. It wakes when the first socket could next be
   * overdue rather than on a fixed beat: with peers pinging every 10 s, about
   * once per (timeout − 10 s), and every silent socket is dropped right as
   * its time runs out.
   */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const timeout = this.heartbeatTimeout();
    let nextDue = Infinity;
    for (const ws of this.ctx.getWebSockets()) {
      const connection = readConnection(ws);
      if (!connection) continue;
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const seen = Math.max(pinged, connection.pinged ?? 0, connection.since);
      if (now - seen <= timeout) {
        nextDue = Math.min(nextDue, seen + timeout + 1);
        continue;
      }
      this.forget(ws);
      closeQuietly(ws, CLOSE_NO_HEARTBEAT, "no heartbeat");
    }
    if (nextDue !== Infinity) await this.ctx.storage.setAlarm(Math.max(nextDue, now + MIN_SWEEP_GAP_MS));
  }

  private heartbeatTimeout(): number {
    const configured = Number(this.env.HEARTBEAT_TIMEOUT_MS);
    return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_HEARTBEAT_TIMEOUT_MS;
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    if (this.place === null) return this.handleMessage(ws, message);
    // Sharded, a read waits on other objects, and the runtime hands this socket its next message meanwhile:
    // each socket's messages are taken one after another, so each is charged after the work of the one before
    // (a flood cannot start a hundred gathered reads on one budget) and answered in order.
    const previous = this.inTurn.get(ws) ?? Promise.resolve();
    const mine = previous.then(() => this.handleMessage(ws, message));
    this.inTurn.set(ws, mine.catch(() => undefined));
    return mine;
  }

  private async handleMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // The budget comes first: a message over it is never parsed, nor its attachment read.
    const length = messageLength(message);
    switch (this.messageBudget.charge(ws, length, Date.now())) {
      case "drop":
        return;
      case "limit":
        ws.send(this.rateLimited);
        return;
      case "close":
        this.forget(ws);
        closeQuietly(ws, CLOSE_POLICY_VIOLATION, "message budget exceeded");
        return;
      case "read":
        break;
    }
    // A socket the tracker closed may still deliver what it sent before.
    if (!isOpen(ws)) return;
    const connection = readConnection(ws);
    if (!connection) return;
    if (typeof message === "string" && this.answeredPing(ws, connection, message)) return;
    if (connection.observer) {
      this.messageBudget.chargeUnreadable(ws);
      ws.send(OBSERVER_REFUSAL);
      return;
    }
    const parsed = parseRequest(message);
    if (!parsed.ok) this.messageBudget.chargeUnreadable(ws);
    const folded = this.sync.folded;
    const reply = parsed.ok
      ? this.shardReads !== null && isShardedRead(parsed.request)
        ? await this.runSharded(ws, connection, parsed.request)
        : this.run(ws, connection, parsed.request, length)
      : { id: parsed.id, ok: false as const, error: parsed.error };
    // A sharded read waited on other objects: the socket may have closed meanwhile.
    if (!isOpen(ws)) return;
    const text =
      reply.ok && reply.result instanceof Serialized ? `{"id":${JSON.stringify(reply.id)},"ok":true,"result":${reply.result.json}}` : JSON.stringify(reply);
    // A client that asks and never reads would have its replies pile up in the object's memory.
    if (ws.bufferedAmount + text.length > MAX_UNSENT_BYTES) {
      this.forget(ws);
      closeQuietly(ws, CLOSE_POLICY_VIOLATION, "replies not read");
      return;
    }
    ws.send(text);
    // Large answers and fresh folds are charged to the socket that asked, after the fact: its next messages wait.
    const work = Math.floor(text.length / REPLY_BYTES_PER_TOKEN) + Math.ceil((this.sync.folded - folded) / FOLDED_CHANGES_PER_TOKEN);
    if (work > 0) this.messageBudget.chargeWork(ws, work);
    // After the hello's answer: the probe's result follows when it is known.
    if (reply.ok && parsed.ok && parsed.request.type === "hello") this.reachability.check(ws);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.forget(ws);
    closeQuietly(ws, code === 1005 || code === 1006 ? 1000 : code, "closing");
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  /** For the HTTP API: the listings' JSON as list-files and list-users answer, kept until they change (sharded: gathered from every shard). */
  async filesJson(): Promise<string> {
    return this.shardReads ? this.shardReads.filesJson() : this.store.listFilesJson();
  }

  /** The users with what each one's probe found: `[{user, host, port, reachable}]`. */
  async usersJson(): Promise<string> {
    return this.shardReads ? JSON.stringify(await this.shardReads.users()) : this.reachability.listUsersJson(this.store);
  }

  // What each shard answers from its own store, for the shard that gathers (shards/shard-reads.ts).

  localChunks(): { user: string; json: string }[] {
    const store = this.store;
    return store.userNames().flatMap((user) => {
      const json = store.filesOf(user)?.chunk() ?? "";
      return json.length > 0 ? [{ user, json }] : [];
    });
  }

  localUsers(): ListedUser[] {
    return this.reachability.listUsers(this.store);
  }

  localFilesPage(query: FilesQuery, maxBytes: number): Page {
    return filesPage(this.store, query, maxBytes);
  }

  localUsersPage(query: UsersQuery, maxBytes: number, withFiles: boolean): Page {
    return withFiles ? localUsersWithFiles(this.store, query, this.reachableOf) : usersPage(this.store, query, this.reachableOf, maxBytes);
  }

  localStats(): LocalStats {
    const store = this.store;
    return {
      users: store.userCount,
      files: store.totals.files,
      bytes: store.totals.bytes,
      contents: store.totals.contents,
      watching: this.ctx.getWebSockets(OBSERVER_TAG).filter(isOpen).length,
      started: this.log.startedAt,
    };
  }

  localCountBefore(first: { user: string; path: string }, onlyUser: string | undefined): number {
    return countBefore(this.store, first, onlyUser);
  }

  localFilesOf(user: string): number {
    return this.store.filesOf(user)?.size ?? 0;
  }

  /** The totals, as GET /api/stats answers them (sharded: over every shard, the same whichever shard is asked). */
  async stats(): Promise<TrackerStats> {
    await this.knowGlobal();
    const { started, ...totals } = this.shardReads ? await this.shardReads.stats() : this.localStats();
    return {
      ...totals,
      version: this.shardReads ? this.globalVersion() : this.log.version,
      startedAt: started === null ? null : new Date(started).toISOString(),
      uptimeSeconds: started === null ? null : Math.max(0, Math.floor((Date.now() - started) / 1000)),
    };
  }

  /** What the live page shows, in one call so its parts agree (page-view.ts). */
  async pageView(query: PageQuery): Promise<PageView> {
    const stats = await this.stats();
    // Not kept between requests: the global version moves only after the hub's broadcast, later than the shards' own totals.
    if (this.shardReads) return this.pageViews.get(null, this.shardReads.viewSource(), query, stats, this.notices.told);
    return this.pageViews.get(this.log.version, storeSource(this.store, this.reachableOf), query, stats, this.notices.told);
  }

  /** For the HTTP API with a query: one page, as a paged list-files or list-users answers (paging.ts). */
  async filesPage(query: FilesQuery): Promise<string> {
    await this.knowGlobal();
    if (this.shardReads) return filesPageJson(await this.shardReads.filesPage(query), this.globalVersion());
    return filesPageJson(filesPage(this.store, query), this.log.version);
  }

  async usersPage(query: UsersQuery): Promise<string> {
    await this.knowGlobal();
    if (this.shardReads) return usersPageJson(await this.shardReads.usersPage(query), this.globalVersion());
    return usersPageJson(usersPage(this.store, query, this.reachableOf), this.log.version);
  }

  /**
   * A ping the auto-response did not match (it carries another version, or
   * none): answered here with the version the last notice told, as the
   * auto-response would (a plain PING with a plain PONG), and counted as a
   * heartbeat, which the sweep cannot read from the runtime for pings it did
   * not answer.
   */
  private answeredPing(ws: WebSocket, connection: Connection, message: string): boolean {
    if (message.length > 128 || !message.startsWith('{"type":"ping"')) return false;
    let ping: unknown;
    try {
      ping = JSON.parse(message);
    } catch {
      return false;
    }
    const { type, v } = ping as { type?: unknown; v?: unknown };
    if (type !== "ping" || (v !== undefined && typeof v !== "string")) return false;
    ws.send(message === PING ? PONG : pongFor(this.notices.told));
    writeConnection(ws, { ...connection, pinged: Date.now() });
    return true;
  }

  /** The store changed: move the version (or start a new epoch) and tell the peers. Returns what to store with the change. */
  private changed(change: Change | "reset"): () => void {
    // A user's entry carries what its probe found, as list-users shows it.
    if (change !== "reset" && change.kind === "user") change = { ...change, reachable: this.reachableOf(change.user) };
    const store = change === "reset" ? this.log.reset() : this.log.record(change);
    // Sharded, peers hear of it when the hub broadcasts it.
    if (this.publisher) this.publisher.moved();
    else this.notices.moved();
    return store;
  }

  private run(ws: WebSocket, connection: Connection, request: TrackerRequest, length: number): TrackerReply {
    const context: CommandContext = {
      store: this.store,
      connection,
      save: (next) => writeConnection(ws, next),
      isLive: (conn) => this.ctx.getWebSockets(connTag(conn)).some(isOpen),
      wrongShard: (user) => {
        if (this.place === null) return null;
        const home = shardOfName(user, this.place.count);
        return home === this.place.index
          ? null
          : `the tracker is sharded and "${user}" belongs to shard ${home}, not this connection's (${this.place.index}): connect again with ?user=${encodeURIComponent(user)} and register there`;
      },
      version: () => this.log.version,
      sync: this.sync,
      watch: () => this.watch(ws, connection),
      usersJson: () => this.reachability.listUsersJson(this.store),
      reachableOf: this.reachableOf,
      work: (tokens) => {
        if (tokens > 0) this.messageBudget.chargeWork(ws, tokens);
      },
    };
    try {
      if (request.type === "register" || request.type === "unregister") this.churnBudget.take(connection.conn, connection.seenHost, length, Date.now());
      const handler = commands[request.type] as (ctx: CommandContext, req: TrackerRequest) => unknown;
      return { id: request.id, ok: true, result: handler(context, request) };
    } catch (error) {
      if (error instanceof ProtocolFailure) return { id: request.id, ok: false, error: error.toJSON() };
      console.error(`tracker: ${request.type as RequestType} failed`, error);
      return { id: request.id, ok: false, error: { code: "internal", message: "the tracker failed; nothing was changed" } };
    }
  }

  /** From now on the socket is told when the version moves (it asked for sync). */
  private watch(ws: WebSocket, connection: Connection): void {
    if (!connection.watching) writeConnection(ws, { ...connection, watching: true });
    this.notices.watch(ws);
  }

  /**
   * Sharded reads: list-files, list-users and sync need every shard, so they
   * are answered asynchronously, gathering from the others (shard-reads.ts).
   */
  private async runSharded(ws: WebSocket, connection: Connection, request: TrackerRequest): Promise<TrackerReply> {
    const reads = this.shardReads!;
    try {
      switch (request.type) {
        case "list-files": {
          if (!isPaged(request)) return { id: request.id, ok: true, result: new Serialized(`{"files":${await reads.filesJson()}}`) };
          const page = await reads.filesPage(request);
          this.messageBudget.chargeWork(ws, Math.floor((page.scanned ?? 0) / SCANNED_BYTES_PER_TOKEN));
          return { id: request.id, ok: true, result: new Serialized(filesPageJson(page, this.globalVersion())) };
        }
        case "list-users": {
          const paged = request.limit !== undefined || request.cursor !== undefined;
          const json = paged ? usersPageJson(await reads.usersPage(request), this.globalVersion()) : `{"users":${JSON.stringify(await reads.users())}}`;
          return { id: request.id, ok: true, result: new Serialized(json) };
        }
        case "sync": {
          this.watch(ws, connection);
          const { json, folded } = await this.syncSharded(request.since);
          // A fold made for this socket (here or at the hub) is charged to it, as one object charges its own folds.
          this.messageBudget.chargeWork(ws, Math.ceil(folded / FOLDED_CHANGES_PER_TOKEN));
          return { id: request.id, ok: true, result: new Serialized(json) };
        }
        default:
          throw new Error(`not a sharded read: ${request.type}`);
      }
    } catch (error) {
      if (error instanceof ProtocolFailure) return { id: request.id, ok: false, error: error.toJSON() };
      console.error(`tracker: sharded ${request.type} failed`, error);
      return { id: request.id, ok: false, error: { code: "internal", message: "the tracker failed; nothing was changed" } };
    }
  }

  /**
   * Sync against the global version: unchanged here, the changes from this
   * shard's broadcasts or else the hub's (up to this shard's version, so the
   * peer's next notice follows on), or a snapshot of every shard's first
   * pages, kept until the version moves. `folded`: changes the hub folded
   * for this answer.
   */
  private async syncSharded(since: Version | undefined): Promise<{ json: string; folded: number }> {
    const version = this.globalVersion();
    if (since === version) return { json: `{"version":${JSON.stringify(version)},"unchanged":true}`, folded: 0 };
    if (since !== undefined) {
      const foldedBefore = this.recent.folded;
      const local = this.recent.since(since);
      const delta = local ? { ...local, folded: this.recent.folded - foldedBefore } : await hubStub(this.env, this.place!.count).changesSince(since, version);
      if (delta !== null) return { json: `{"version":${JSON.stringify(delta.version)},"changes":${delta.json}}`, folded: delta.folded };
    }
    if (this.snapshot?.version !== version) {
      // Read after the version was known, so the pages hold at least what it says; later changes applied again change nothing.
      const reads = this.shardReads!;
      const [users, files] = await Promise.all([
        reads.usersPage({ limit: MAX_PAGE_LIMIT }, PAGE_ENTRY_BYTES / 2),
        reads.filesPage({ limit: MAX_PAGE_LIMIT }, PAGE_ENTRY_BYTES / 2),
      ]);
      const json = `{"version":${JSON.stringify(version)},"snapshot":{"users":${users.json},"usersNext":${JSON.stringify(users.next)},"files":${files.json},"filesNext":${JSON.stringify(files.next)}}}`;
      this.snapshot = { version, json };
    }
    return { json: this.snapshot.json, folded: 0 };
  }

  /**
   * Storage refused a batch the index had already answered for, so memory and
   * storage disagree. Rather than guess which side is right, start over:
   * forget everyone and close every socket; each peer reconnects and
   * registers again from its own saved state.
   */
  private storageFailed(error: unknown): void {
    console.error("tracker: storing a batch of writes failed; closing every socket so peers register again", error);
    this.store.reset();
    for (const ws of this.ctx.getWebSockets()) closeQuietly(ws, CLOSE_STORAGE_FAILED, "the tracker lost a write; reconnect and register again");
  }

  /** Removes the socket's user and every file it offered. */
  private forget(ws: WebSocket): void {
    this.notices.unwatch(ws);
    const connection = readConnection(ws);
    if (connection) this.churnBudget.forget(connection.conn);
    if (connection) this.reachability.forget(connection.conn);
    if (connection?.user && this.store.holderOf(connection.user) === connection.conn) {
      this.store.dropUser(connection.user);
    }
  }

  /** conn id → user name, for every open socket that holds a name. */
  private liveUsers(): Map<string, string> {
    const live = new Map<string, string>();
    for (const ws of this.ctx.getWebSockets()) {
      const connection = readConnection(ws);
      if (connection?.user && isOpen(ws)) live.set(connection.conn, connection.user);
    }
    return live;
  }
}

/** What a live page's socket gets for anything but a ping. */
const OBSERVER_REFUSAL = JSON.stringify({
  id: null,
  ok: false,
  error: { code: "bad-message", message: "this socket watches the live page: it takes pings only, and is told of changes unasked" },
} satisfies ErrorReply);

/** Requests a sharded tracker answers from every shard. */
const isShardedRead = (request: TrackerRequest): boolean => request.type === "list-files" || request.type === "list-users" || request.type === "sync";

const messageLength = (message: string | ArrayBuffer): number => (typeof message === "string" ? message.length : message.byteLength);
