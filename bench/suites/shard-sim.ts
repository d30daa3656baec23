/**
 * Shards on paper: the sharded tracker of SCALING.md at 100,000 peers over
 * 16 and 64 shards, as a deterministic model. Nothing runs: no network, no
 * wrangler, one seeded random stream. It counts what each object (every
 * shard and the hub) would be asked to do, and prices it with per-operation
 * costs measured on this machine (BENCHMARKS.md) or stated as assumptions.
 *
 * Time moves in 20 ms ticks (publications and broadcasts gather for max(20, 2N) ms, whole ticks), so
 * the publish → hub → broadcast pipeline and the notices' coalescing are
 * followed tick by tick. Nine minutes of steady use, then a deploy that
 * restarts every object and one minute of the reconnect storm.
 *
 * Two kinds of peer are modelled: today's peer, which keeps a copy of the
 * whole catalog (a snapshot read in pages at start, then every change), and
 * a peer that keeps the users map only and asks for files by filtered page,
 * which is not built: it shows what the next step would buy (SCALING.md).
 */
import { MAX_CATALOG_BYTES, MAX_PAGE_BYTES, MAX_SCANNED_PER_PAGE, shardOfName } from "@p2p/shared";
import { fmt, table, type SuiteOptions, type SuiteResult, type Target } from "../lib/report.ts";

// ---- The workload (stated, not measured) ----------------------------------

const PEERS = 100_000;
const FILES_PER_PEER = 10;
const SECONDS = 600;
const DEPLOY_AT_S = 540;
/** A peer process runs an hour on average, then restarts: its socket closes and a fresh one takes a snapshot. */
const SESSION_MEAN_S = 3600;
/** Fresh processes started without `--user`: they reach a random shard, register, are told `wrong-shard` and move once. */
const UNNAMED_AT_CONNECT = 0.1;
/** Each online peer registers or unregisters one file every ten minutes. */
const CHANGE_EVERY_S = 600;
/** 1% of peers search (a filtered list-files page) each minute. */
const SEARCHES_PER_PEER_PER_S = 0.01 / 60;
const PING_EVERY_S = 10;
/** The peer's first retry after a close: half to all of 250 ms (peer-cli/src/tracker/tracker-client.ts). */
const RETRY_MIN_MS = 125;
const RETRY_MAX_MS = 250;
/** Probes: most mini-servers answer quickly; the others cost the whole timeout. */
const PROBE_REACHABLE = 0.7;
const PROBE_ANSWER_S = 0.05;
const PROBE_TIMEOUT_S = 3;
const PROBES_AT_ONCE = 6;
const SWEEP_EVERY_S = 40;
const SEED = 20261130;

// ---- The design's numbers (SCALING.md; notices as worker/src/tracker/sync/notices.ts) ----

const TICK_MS = 20;
const NOTICE_DELAY_MS = 50;
const NOTICE_INTERVAL_MS = 1000;
const NOTICE_MAX_CHANGES_BYTES = 16 * 1024;
/** A snapshot's first page of each listing: half of a page's bytes (README, `sync`). */
const FIRST_PAGE_BYTES = MAX_PAGE_BYTES / 2;
const MIB = 1024 * 1024;

// ---- What each operation costs an object, in ms of its one thread ----------

const COST = {
  /** The runtime handing an object a message, RPC or connect: the echo object's 5,125 messages/s at 100 peers. */
  deliver: 0.2,
  /** Accepting a WebSocket: no figure here; an assumption. */
  connect: 0.5,
  /** tracker-ops at 100 peers: hello 2,583/s. */
  hello: 0.39,
  /** register of one file 4,082/s; 1,000 files in one message ≈ 4 ms. */
  register: 0.245,
  perFile: 0.004,
  /** register one file (4,082/s) and unregister one file (5,099/s), alternating. */
  change: 0.22,
  /** A refused request: the malformed floor, 4,352/s. */
  refused: 0.23,
  /** A close drops the user and its files: about an unregister (assumption). */
  close: 0.25,
  /** Answering sync from the object's own state: about list-users at 100 peers, 2,477/s (assumption). */
  sync: 0.4,
  /** One notice sent to one socket (Sync: register p99 beside idle peers). */
  noticeSend: 0.15,
  /** Sending JSON: list-files put 7.9 MB on a socket in 198 ms. Applied to RPC replies too (assumption). */
  sendPerMiB: 25,
  /** Taking in an RPC reply and merging it (assumption: a fifth of sending). */
  receivePerMiB: 5,
  /** A filtered page looks at each entry: the page suite's 100,000-entry miss, 26 ms less ~10 ms of HTTP. */
  scanPerEntry: 0.00016,
  /** Making an RPC, the caller's side (assumption). */
  rpcCall: 0.05,
  /** Folding a change set out of the log for one asker (assumption). */
  fold: 0.3,
  /** The heartbeat sweep reads every socket's attachment (assumption). */
  sweep: 1,
  sweepPerSocket: 0.001,
  /** A restarted shard deletes its ghosts from storage (assumption). */
  restartPerEntry: 0.002,
  /** The hub appending a shard's changes to the global log and storing them (assumption). */
  appendPerKiB: 0.01,
};

/** Where an object's time goes. */
const KINDS = ["sessions", "changes", "notices", "pulls", "snapshots", "searches", "hub traffic", "sweeps"] as const;
type Kind = (typeof KINDS)[number];

// ---- Sizes: the JSON a listing or change set holds ------------------------

const bytesOf = (value: unknown) => Buffer.byteLength(JSON.stringify(value)) + 1;
const nameOf = (i: number) => `peer-${i}`;
const userEntryBytes = (user: string) => bytesOf({ user, host: "203.0.113.77", port: 40000, reachable: true });
const fileEntryBytes = (user: string) =>
  bytesOf({ user, path: `/home/${user}/shared/file-${FILES_PER_PEER}.bin`, size: 1_234_567_890_123_456, root: "0".repeat(64) });
const fileGoneBytes = (user: string) => bytesOf({ user, path: `/home/${user}/shared/file-${FILES_PER_PEER}.bin` });
/** The index's heap per entry: the tracker's UserFiles with its cached JSON, 670 B in V8 (SCALING.md, *Memory*). */
const HEAP_PER_ENTRY = 670;

/** mulberry32: small, fast, and the same stream on every machine. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Events in one tick: Knuth's method (every mean here is small). */
function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let count = 0;
  for (let p = random(); p > limit; p *= random()) count++;
  return count;
}

interface Config {
  shards: number;
  /** "whole": today's peer, a copy of the whole catalog; "users": the users map only, files by page. */
  copy: "whole" | "users";
}

/** Counters for one phase (the steady minutes, or the storm), per shard and for the hub. */
class Phase {
  readonly seconds: number;
  readonly messages: Float64Array;
  readonly rpcsServed: Float64Array;
  readonly invocations: Float64Array;
  readonly noticeSends: Float64Array;
  readonly notices: Float64Array;
  readonly noticesWithChanges: Float64Array;
  readonly pulls: Float64Array;
  readonly probes: Float64Array;
  readonly reconnects: Float64Array;
  readonly busy: Record<Kind, Float64Array>;
  /** The most invocations any shard took in one simulated second. */
  peakInvocations = 0;
  /** Bytes of every change made in the phase, and of user changes only. */
  changeBytes = 0;
  userChangeBytes = 0;
  readonly #thisSecond: Float64Array;
  hub = { publishes: 0, broadcasts: 0, pulls: 0, resets: 0, goneUsers: 0, busy: 0 };

  constructor(shards: number, seconds: number) {
    this.seconds = seconds;
    const zeros = () => new Float64Array(shards);
    this.messages = zeros();
    this.rpcsServed = zeros();
    this.invocations = zeros();
    this.noticeSends = zeros();
    this.notices = zeros();
    this.noticesWithChanges = zeros();
    this.pulls = zeros();
    this.probes = zeros();
    this.reconnects = zeros();
    this.#thisSecond = zeros();
    this.busy = Object.fromEntries(KINDS.map((kind) => [kind, zeros()])) as Record<Kind, Float64Array>;
  }

  /** One invocation of a shard (a peer message, a connect, an RPC it serves, an alarm) and its cost. */
  invoke(shard: number, kind: Kind, ms: number, count = 1): void {
    this.invocations[shard]! += count;
    this.#thisSecond[shard]! += count;
    this.busy[kind][shard]! += ms;
  }

  work(shard: number, kind: Kind, ms: number): void {
    this.busy[kind][shard]! += ms;
  }

  endSecond(): void {
    for (let i = 0; i < this.#thisSecond.length; i++) {
      this.peakInvocations = Math.max(this.peakInvocations, this.#thisSecond[i]!);
      this.#thisSecond[i] = 0;
    }
  }

  busyOf(shard: number): number {
    return KINDS.reduce((sum, kind) => sum + this.busy[kind][shard]!, 0);
  }
}

/** What reading a merged listing in pages costs each shard: the design asks every shard for a page after the cursor. */
interface Pass {
  pages: number;
  /** The bytes each shard returns over the whole pass. */
  served: Float64Array;
  total: number;
}

function pass(listing: Float64Array): Pass {
  const total = listing.reduce((a, b) => a + b, 0);
  const served = new Float64Array(listing.length);
  const rest = Math.max(0, total - FIRST_PAGE_BYTES);
  const pages = Math.ceil(rest / MAX_PAGE_BYTES);
  for (let k = 0; k < pages; k++) {
    // Users are spread evenly over shards, so the cursor is as far through each shard's listing as through the merge.
    const left = (rest - k * MAX_PAGE_BYTES) / total;
    for (let j = 0; j < listing.length; j++) served[j]! += Math.min(MAX_PAGE_BYTES, listing[j]! * left);
  }
  return { pages, served, total: served.reduce((a, b) => a + b, 0) };
}

interface Outcome {
  config: Config;
  steady: Phase;
  storm: Phase;
  sockets: { mean: number; max: number };
  entries: { max: number };
  listingBytes: { max: number };
}

/** Each peer's entries, as listings and change sets hold them: the same in every configuration. */
interface PeerSizes {
  user: Float64Array;
  files: Float64Array;
  gone: Float64Array;
  file: Float64Array;
  fileGone: Float64Array;
}

function peerSizes(): PeerSizes {
  const sizes = { user: new Float64Array(PEERS), files: new Float64Array(PEERS), gone: new Float64Array(PEERS), file: new Float64Array(PEERS), fileGone: new Float64Array(PEERS) };
  for (let i = 0; i < PEERS; i++) {
    const name = nameOf(i);
    sizes.user[i] = userEntryBytes(name);
    sizes.file[i] = fileEntryBytes(name);
    sizes.files[i] = FILES_PER_PEER * sizes.file[i]!;
    sizes.gone[i] = bytesOf(name);
    sizes.fileGone[i] = fileGoneBytes(name);
  }
  return sizes;
}

function simulate(config: Config, sizes: PeerSizes): Outcome {
  const { shards } = config;
  const random = seeded(SEED);
  const shardOf = new Uint16Array(PEERS);
  const online = new Uint8Array(PEERS).fill(1);
  const { user: userBytes, files: filesBytes } = sizes;
  const change = sizes;
  const sockets = new Float64Array(shards);
  const usersListing = new Float64Array(shards);
  const filesListing = new Float64Array(shards);
  const entries = new Float64Array(shards);
  for (let i = 0; i < PEERS; i++) {
    const shard = shardOfName(nameOf(i), shards);
    shardOf[i] = shard;
    sockets[shard]!++;
    usersListing[shard]! += userBytes[i]!;
    filesListing[shard]! += filesBytes[i]!;
    entries[shard]! += FILES_PER_PEER;
  }
  const socketsAtStart = { mean: PEERS / shards, max: Math.max(...sockets) };
  const entriesMax = Math.max(...entries);
  const listingMax = Math.max(...filesListing);

  const ticksPerSecond = 1000 / TICK_MS;
  const deployTick = DEPLOY_AT_S * ticksPerSecond;
  const steady = new Phase(shards, DEPLOY_AT_S);
  const storm = new Phase(shards, SECONDS - DEPLOY_AT_S);
  let phase = steady;

  // The pipeline: what each shard gathered this tick, what it publishes, what the hub took last tick.
  // Bytes of every change (the global log), and of user changes only (what users-only peers are told).
  const gathering = new Float64Array(shards);
  const publishing = new Float64Array(shards);
  const gatheringUsers = new Float64Array(shards);
  const publishingUsers = new Float64Array(shards);
  let hubGathering = 0;
  let hubGatheringUsers = 0;
  // Publications and broadcasts gather for max(20, 2N) ms (hub.ts): every this many ticks.
  const gatherTicks = Math.ceil(Math.max(TICK_MS, 2 * shards) / TICK_MS);
  // Notices: bytes of change broadcast to each shard since its last notice, and when the next one goes.
  const unsent = new Float64Array(shards);
  const noticeAt = new Float64Array(shards).fill(Number.POSITIVE_INFINITY);
  const lastNotice = new Float64Array(shards).fill(Number.NEGATIVE_INFINITY);
  const reconnectAt = new Map<number, number[]>();
  let users = pass(usersListing);
  let files = pass(filesListing);

  const changed = (shard: number, bytes: number, userBytes: number) => {
    gathering[shard]! += bytes;
    gatheringUsers[shard]! += userBytes;
    phase.changeBytes += bytes;
    phase.userChangeBytes += userBytes;
  };

  /** `count` peers of a shard read a merged listing in pages: their shard relays each page, every shard serves its part. */
  const readPass = (asker: number, count: number, read: Pass) => {
    if (read.pages === 0) return;
    const pages = read.pages * count;
    phase.messages[asker]! += pages;
    phase.invoke(asker, "snapshots", pages * (COST.deliver + shards * COST.rpcCall) + (count * (read.total * COST.receivePerMiB + read.pages * MAX_PAGE_BYTES * COST.sendPerMiB)) / MIB, pages);
    for (let j = 0; j < shards; j++) {
      phase.rpcsServed[j]! += pages;
      phase.invoke(j, "snapshots", pages * COST.deliver + (count * read.served[j]! * COST.sendPerMiB) / MIB, pages);
    }
  };

  /**
   * `count` peers of a shard sync with no usable version: the first page of
   * each listing from every shard and the hub's version, then the peer pages,
   * then a sync since the snapshot's version (a change set from the shard's
   * chain of broadcasts, recent-changes.ts).
   * Gathered per tick: every snapshot in a tick costs the same.
   */
  const snapshots = (asker: number, count: number) => {
    const firstPages = config.copy === "whole" ? 2 : 1;
    phase.messages[asker]! += 2 * count;
    phase.invoke(asker, "snapshots", count * (2 * (COST.deliver + COST.sync) + (firstPages * shards + 2) * COST.rpcCall + (firstPages * FIRST_PAGE_BYTES * COST.sendPerMiB) / MIB), 2 * count);
    phase.work(asker, "snapshots", COST.fold);
    for (let j = 0; j < shards; j++) {
      const bytes = Math.min(FIRST_PAGE_BYTES, usersListing[j]!) + (config.copy === "whole" ? Math.min(FIRST_PAGE_BYTES, filesListing[j]!) : 0);
      phase.rpcsServed[j]! += firstPages * count;
      phase.invoke(j, "snapshots", count * (firstPages * COST.deliver + (bytes * COST.sendPerMiB) / MIB), firstPages * count);
    }
    readPass(asker, count, users);
    if (config.copy === "whole") readPass(asker, count, files);
  };
  const snapshotting = new Float64Array(shards);

  const connect = (peer: number, fresh: boolean) => {
    const home = shardOf[peer]!;
    if (fresh && random() < UNNAMED_AT_CONNECT) {
      // Connect, hello and register at a random shard, refused there; the socket closes and moves, once.
      const stray = Math.floor(random() * shards);
      if (stray !== home) {
        phase.messages[stray]! += 3;
        phase.invoke(stray, "sessions", 3 * COST.deliver + COST.connect + COST.hello + COST.refused + COST.close, 4);
      }
    }
    online[peer] = 1;
    sockets[home]!++;
    usersListing[home]! += userBytes[peer]!;
    filesListing[home]! += filesBytes[peer]!;
    entries[home]! += FILES_PER_PEER;
    phase.messages[home]! += 3;
    phase.invoke(home, "sessions", 3 * COST.deliver + COST.connect + COST.hello + COST.register + FILES_PER_PEER * COST.perFile, 3);
    // The probe's result moves the version too.
    phase.probes[home]!++;
    changed(home, 2 * change.user[peer]! + filesBytes[peer]!, 2 * change.user[peer]!);
    snapshotting[home]!++;
  };

  /** A peer leaves its shard's counts; returns the shard. */
  const goOffline = (peer: number): number => {
    const home = shardOf[peer]!;
    online[peer] = 0;
    sockets[home]!--;
    usersListing[home]! -= userBytes[peer]!;
    filesListing[home]! -= filesBytes[peer]!;
    entries[home]! -= FILES_PER_PEER;
    return home;
  };

  const disconnect = (peer: number) => {
    const home = goOffline(peer);
    phase.invoke(home, "sessions", COST.deliver + COST.close);
    changed(home, change.gone[peer]!, change.gone[peer]!);
  };

  const randomOnline = (): number => {
    for (;;) {
      const peer = Math.floor(random() * PEERS);
      if (online[peer]) return peer;
    }
  };

  const onlineNow = () => sockets.reduce((a, b) => a + b, 0);

  for (let tick = 0; tick < SECONDS * ticksPerSecond; tick++) {
    const now = tick * TICK_MS;
    if (tick % ticksPerSecond === 0) {
      if (tick > 0) phase.endSecond();
      // The listings move slowly; their paging costs are worked out once a second.
      users = pass(usersListing);
      files = pass(filesListing);
    }

    if (tick === deployTick) {
      phase.endSecond();
      phase = storm;
      // Every object restarts: every socket closes, each shard drops its ghosts and tells the hub.
      for (let j = 0; j < shards; j++) {
        phase.invoke(j, "sessions", COST.deliver + entries[j]! * COST.restartPerEntry);
        phase.hub.resets++;
        phase.hub.goneUsers += sockets[j]!;
        let goneBytes = 0;
        for (let peer = 0; peer < PEERS; peer++) if (online[peer] && shardOf[peer] === j) goneBytes += change.gone[peer]!;
        phase.hub.busy += COST.deliver + (goneBytes * COST.appendPerKiB) / 1024;
        gathering[j] = 0;
        publishing[j] = 0;
        gatheringUsers[j] = 0;
        publishingUsers[j] = 0;
        noticeAt[j] = Number.POSITIVE_INFINITY;
        unsent[j] = 0;
      }
      hubGathering = 0;
      hubGatheringUsers = 0;
      for (let peer = 0; peer < PEERS; peer++) {
        if (!online[peer]) continue;
        goOffline(peer);
        const at = tick + Math.ceil((RETRY_MIN_MS + random() * (RETRY_MAX_MS - RETRY_MIN_MS)) / TICK_MS);
        const due = reconnectAt.get(at) ?? [];
        due.push(peer);
        reconnectAt.set(at, due);
      }
    }

    // The hub broadcasts what it took last tick: one RPC to every shard, and the version moves everywhere.
    if (hubGathering > 0 && tick % gatherTicks === 0) {
      phase.hub.broadcasts += shards;
      phase.hub.busy += shards * (COST.rpcCall + (hubGathering * COST.sendPerMiB) / MIB);
      for (let j = 0; j < shards; j++) {
        phase.rpcsServed[j]!++;
        phase.invoke(j, "hub traffic", COST.deliver + (hubGathering * COST.receivePerMiB) / MIB);
        unsent[j]! += config.copy === "whole" ? hubGathering : hubGatheringUsers;
        if (noticeAt[j] === Number.POSITIVE_INFINITY) noticeAt[j] = Math.max(now + NOTICE_DELAY_MS, lastNotice[j]! + NOTICE_INTERVAL_MS);
      }
      hubGathering = 0;
      hubGatheringUsers = 0;
    }
    // Each shard publishes what it gathered: at most one publish in flight, answered within a tick.
    for (let j = 0; tick % gatherTicks === 0 && j < shards; j++) {
      if (publishing[j]! > 0) {
        phase.hub.publishes++;
        phase.hub.busy += COST.deliver + (publishing[j]! * COST.appendPerKiB) / 1024;
        phase.work(j, "hub traffic", COST.rpcCall + (publishing[j]! * COST.sendPerMiB) / MIB);
        hubGathering += publishing[j]!;
        hubGatheringUsers += publishingUsers[j]!;
      }
      publishing[j] = gathering[j]!;
      publishingUsers[j] = gatheringUsers[j]!;
      gathering[j] = 0;
      gatheringUsers[j] = 0;
    }

    // Peers: restarts, changes, searches, and the storm's reconnects.
    const live = onlineNow();
    for (let n = poisson(random, (live * TICK_MS) / 1000 / SESSION_MEAN_S); n > 0; n--) {
      const peer = randomOnline();
      disconnect(peer);
      connect(peer, true);
    }
    for (let n = poisson(random, (live * TICK_MS) / 1000 / CHANGE_EVERY_S); n > 0; n--) {
      const peer = randomOnline();
      const home = shardOf[peer]!;
      phase.messages[home]!++;
      phase.invoke(home, "changes", COST.deliver + COST.change);
      changed(home, random() < 0.5 ? change.file[peer]! : change.fileGone[peer]!, 0);
    }
    for (let n = poisson(random, (live * TICK_MS * SEARCHES_PER_PEER_PER_S) / 1000); n > 0; n--) {
      const home = shardOf[randomOnline()]!;
      phase.messages[home]!++;
      phase.invoke(home, "searches", COST.deliver + shards * COST.rpcCall);
      for (let j = 0; j < shards; j++) {
        phase.rpcsServed[j]!++;
        phase.invoke(j, "searches", COST.deliver + Math.min(MAX_SCANNED_PER_PAGE, entries[j]!) * COST.scanPerEntry);
      }
    }
    for (const peer of reconnectAt.get(tick) ?? []) {
      phase.reconnects[shardOf[peer]!]!++;
      connect(peer, false);
    }
    reconnectAt.delete(tick);
    for (let j = 0; j < shards; j++) {
      if (snapshotting[j]! > 0) snapshots(j, snapshotting[j]!);
      snapshotting[j] = 0;
    }

    // Notices: every syncing socket of the shard, with the change set when it fits; otherwise each one pulls.
    for (let j = 0; j < shards; j++) {
      if (noticeAt[j]! > now) continue;
      const bytes = unsent[j]!;
      const fits = bytes <= NOTICE_MAX_CHANGES_BYTES;
      const sends = sockets[j]!;
      phase.notices[j]!++;
      phase.noticeSends[j]! += sends;
      if (fits) phase.noticesWithChanges[j]!++;
      phase.work(j, "notices", sends * (COST.noticeSend + (fits ? (Math.max(0, bytes - 2500) * COST.sendPerMiB) / MIB : 0)));
      if (!fits) {
        // Each pull: the peer's sync reaches the shard, which folds its chain of broadcasts once (then keeps the answer) and sends it.
        phase.pulls[j]! += sends;
        phase.messages[j]! += sends;
        phase.invoke(j, "pulls", COST.fold + sends * (COST.deliver + COST.sync + (bytes * COST.sendPerMiB) / MIB), sends);
      }
      unsent[j] = 0;
      lastNotice[j] = now;
      noticeAt[j] = Number.POSITIVE_INFINITY;
    }

    // The heartbeat sweep, staggered over shards.
    for (let j = 0; j < shards; j++) {
      if ((tick + j * 37) % (SWEEP_EVERY_S * ticksPerSecond) === 0) phase.invoke(j, "sweeps", COST.deliver + COST.sweep + sockets[j]! * COST.sweepPerSocket);
    }
  }
  phase.endSecond();

  return {
    config,
    steady,
    storm,
    sockets: socketsAtStart,
    entries: { max: entriesMax },
    listingBytes: { max: listingMax },
  };
}

// ---- Reporting ------------------------------------------------------------

const max = (values: Float64Array) => values.reduce((a, b) => Math.max(a, b), 0);
const mean = (values: Float64Array) => values.reduce((a, b) => a + b, 0) / values.length;
const perSecond = (phase: Phase, values: Float64Array) => max(values) / phase.seconds;
const busiestOf = new WeakMap<Phase, number>();
const busiest = (phase: Phase) => {
  let shard = busiestOf.get(phase);
  if (shard === undefined) {
    const totals = phase.messages.map((_, j) => phase.busyOf(j));
    shard = totals.indexOf(max(totals));
    busiestOf.set(phase, shard);
  }
  return shard;
};
/** The busiest shard's share of one thread: 100% is the whole second. */
const busyPercent = (phase: Phase) => phase.busyOf(busiest(phase)) / phase.seconds / 10;
const label = (o: Outcome) => `${o.config.shards} shards, ${o.config.copy === "whole" ? "whole catalog" : "users only"}`;
const count = (value: number) => fmt(value, 0);
const rate = (value: number) => fmt(value, value < 10 ? 1 : 0);

function probeDrainSeconds(o: Outcome): number {
  const probe = PROBE_REACHABLE * PROBE_ANSWER_S + (1 - PROBE_REACHABLE) * PROBE_TIMEOUT_S;
  return (max(o.storm.probes) * probe) / PROBES_AT_ONCE;
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const configs: Config[] = [
    { shards: 16, copy: "whole" },
    { shards: 64, copy: "whole" },
    { shards: 16, copy: "users" },
    { shards: 64, copy: "users" },
  ];
  const outcomes: Outcome[] = [];
  const sizes = peerSizes();
  for (const config of configs) {
    options.log(`shard-sim: ${config.shards} shards, peers keep ${config.copy === "whole" ? "the whole catalog" : "the users map"}`);
    outcomes.push(simulate(config, sizes));
  }
  const byShards = outcomes.filter((o) => o.config.copy === "whole");
  const find = (shards: number, copy: Config["copy"]) => outcomes.find((o) => o.config.shards === shards && o.config.copy === copy)!;

  const workload = [
    `${count(PEERS)} peers named \`peer-<i>\`, each on shard fmix32(fnv1a32(name)) % N; ${FILES_PER_PEER} files each (${count(PEERS * FILES_PER_PEER)} entries).`,
    `A peer process restarts every ${SESSION_MEAN_S / 60} min on average (its socket closes; the fresh one takes a snapshot); ${UNNAMED_AT_CONNECT * 100}% of fresh starts carry no name and move once (\`wrong-shard\`).`,
    `Each peer registers or unregisters one file every ${CHANGE_EVERY_S / 60} min; ${fmt(SEARCHES_PER_PEER_PER_S * 6000, 0)}% of peers search (one filtered page) each minute; pings every ${PING_EVERY_S} s are answered by the runtime (${count(PEERS / PING_EVERY_S)} a second, free).`,
    `Every hello is probed (${PROBE_REACHABLE * 100}% answer in ${PROBE_ANSWER_S * 1000} ms, the rest time out after ${PROBE_TIMEOUT_S} s; ${PROBES_AT_ONCE} at once per object).`,
    `At ${DEPLOY_AT_S} s a deploy restarts every object; each peer retries ${RETRY_MIN_MS}–${RETRY_MAX_MS} ms later and takes a snapshot (the change log cannot cover everyone leaving and coming back).`,
    `*Whole catalog* is today's peer (a snapshot of users and files read in 1 MiB pages, then every change); *users only* keeps the users map and asks for files by page (not built; SCALING.md).`,
    `Costs per operation (ms of an object's thread): delivery ${COST.deliver}, connect ${COST.connect}, hello ${COST.hello}, register ${COST.register} + ${COST.perFile}/file, change ${COST.change}, notice ${COST.noticeSend}/socket, sending ${COST.sendPerMiB}/MiB, receiving ${COST.receivePerMiB}/MiB, an RPC call ${COST.rpcCall}, a scan ${COST.scanPerEntry * 1e6} ns/entry; measured here (BENCHMARKS.md) or assumed (SCALING.md lists which).`,
  ];

  const socketsTable = table(
    ["shards", "sockets per shard, mean", "max", "max / mean", "entries per shard, max", "listing per shard, max (MB)", "vs the 8 MiB budget", "index heap, max (MB)"],
    byShards.map((o) => [
      o.config.shards,
      count(o.sockets.mean),
      count(o.sockets.max),
      `${fmt(o.sockets.max / o.sockets.mean, 3)}×`,
      count(o.entries.max),
      fmt(o.listingBytes.max / 1e6, 1),
      `${fmt((o.listingBytes.max / MAX_CATALOG_BYTES) * 100, 0)}%`,
      fmt((o.entries.max * HEAP_PER_ENTRY) / 1e6, 1),
    ]),
  );

  const steadyTable = table(
    ["configuration", "peer messages/s per shard, mean", "max shard", "RPCs served/s, max shard", "invocations in the busiest second", "notices sent/s, max shard", "notices with their changes", "pulls/s, max shard", "busiest shard's thread"],
    outcomes.map((o) => {
      const s = o.steady;
      return [
        label(o),
        rate(mean(s.messages) / s.seconds),
        rate(perSecond(s, s.messages)),
        rate(perSecond(s, s.rpcsServed)),
        count(s.peakInvocations),
        rate(perSecond(s, s.noticeSends)),
        `${fmt((100 * s.noticesWithChanges.reduce((a, b) => a + b, 0)) / Math.max(1, s.notices.reduce((a, b) => a + b, 0)), 0)}%`,
        rate(perSecond(s, s.pulls)),
        `${fmt(busyPercent(s), 0)}%`,
      ];
    }),
  );

  const hubTable = table(
    ["configuration", "publishes in/s", "broadcast RPCs out/s", "bound at constant churn (in / out)", "change-set pulls served/s", "hub's thread"],
    outcomes.map((o) => {
      const h = o.steady.hub;
      const bound = o.config.shards * (1000 / Math.max(TICK_MS, 2 * o.config.shards));
      return [label(o), rate(h.publishes / o.steady.seconds), rate(h.broadcasts / o.steady.seconds), `${count(bound)} / ${count(bound)}`, rate(h.pulls / o.steady.seconds), `${fmt(h.busy / o.steady.seconds / 10, 0)}%`];
    }),
  );

  const whereTable = table(
    ["busiest shard, ms per second", ...outcomes.map(label)],
    KINDS.map((kind) => [kind, ...outcomes.map((o) => fmt(o.steady.busy[kind][busiest(o.steady)]! / o.steady.seconds, 1))]),
  );

  const stormTable = table(
    ["configuration", "reconnects, max shard", "thread time the last minute costs the busiest shard (s)", "so settled no sooner than (s after the deploy)", "probes all answered after (s)", "RPCs served, max shard", "hub: resets / users logged gone"],
    outcomes.map((o) => {
      const s = o.storm;
      const work = s.busyOf(busiest(s)) / 1000;
      return [label(o), count(max(s.reconnects)), fmt(work, 0), fmt(Math.max(work, (RETRY_MAX_MS + TICK_MS) / 1000), 0), fmt(probeDrainSeconds(o), 0), count(max(s.rpcsServed)), `${s.hub.resets} / ${count(s.hub.goneUsers)}`];
    }),
  );

  const w64 = find(64, "whole");
  const w16 = find(16, "whole");
  const u64 = find(64, "users");
  const body = `Reproduce: \`npm run bench -- --only shard-sim\` (a model, not a measurement: a few seconds, the same figures on every run). Workload:

${workload.map((line) => `- ${line}`).join("\n")}

In the steady minutes the catalog changes by ${fmt(w64.steady.changeBytes / w64.steady.seconds / 1000, 1)} kB of change sets a second (${fmt(w64.steady.userChangeBytes / w64.steady.seconds / 1000, 1)} kB of it user changes). A notice carries its change set only up to ${NOTICE_MAX_CHANGES_BYTES / 1024} KiB, so for whole-catalog peers it never fits: every syncing peer pulls every second (from its own shard, which answers from the change sets it was broadcast), and each such peer takes in ${fmt((w64.steady.changeBytes / w64.steady.seconds) * 86_400 / 1e9, 1)} GB a day of changes. Users-only peers are told user changes only, and they fit. The model follows the design in SCALING.md: a notice carries every change set broadcast since the previous notice, and a shard answers syncs from recent versions itself.

**Sockets and catalog per shard** (the spread is the hash's, over these names):

${socketsTable}

**Steady state**, per second over the first ${DEPLOY_AT_S / 60} minutes ("invocations" counts everything handed to the object: peer messages, connects, RPCs it serves, alarms; the platform suggests about 1,000 a second per object):

${steadyTable}

**The hub:**

${hubTable}

**Where the busiest shard's time goes** (steady state):

${whereTable}

**The deploy and its reconnect storm** (the last minute; "settled" assumes the busiest shard works flat out from the deploy):

${stormTable}`;

  const targets: Target[] = [
    ...byShards.map((o) => ({ name: `Shard sim: sockets on the fullest of ${o.config.shards} shards`, value: o.sockets.max, target: "< 32,768", met: o.sockets.max < 32_768 })),
    { name: "Shard sim: invocations in the busiest shard-second, 64 shards, whole catalog", value: w64.steady.peakInvocations, target: "< 1,000", met: w64.steady.peakInvocations < 1000 },
    { name: "Shard sim: busiest shard's thread, 64 shards, whole catalog (%)", value: busyPercent(w64.steady), target: "< 50", met: busyPercent(w64.steady) < 50 },
    { name: "Shard sim: busiest shard's thread, 16 shards, whole catalog (%)", value: busyPercent(w16.steady), target: "< 50", met: busyPercent(w16.steady) < 50 },
    { name: "Shard sim: hub messages in per second, 64 shards, whole catalog", value: (w64.steady.hub.publishes + w64.steady.hub.pulls) / w64.steady.seconds, target: "< 1,000", met: (w64.steady.hub.publishes + w64.steady.hub.pulls) / w64.steady.seconds < 1000 },
    { name: "Shard sim: busiest shard's thread, 64 shards, users only (%)", value: busyPercent(u64.steady), target: "< 50", met: busyPercent(u64.steady) < 50 },
    { name: "Shard sim: deploy storm settled, 64 shards, users only (s)", value: u64.storm.busyOf(busiest(u64.storm)) / 1000, target: "< 60", met: u64.storm.busyOf(busiest(u64.storm)) / 1000 < 60 },
  ];
  return { title: `Shards on paper: ${count(PEERS)} peers at 16 and 64 shards`, body, targets };
}
