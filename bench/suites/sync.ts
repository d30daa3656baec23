/**
 * Sync: what keeping every peer's users.txt and files.json current costs
 * the tracker, beside the full refresh it replaces (list-users and the whole
 * list-files every 30 s), in the same run.
 *
 * At a 100,000-entry catalog (the catalog bound lifted, as in the scale
 * suite): the bytes the tracker sends one idle real peer per minute, and how
 * a register's latency grows with the number of idle peers. With 200 real
 * peers in this process: how long a new user takes to reach every peer's
 * users.txt, and what wakes the tracker's object while nothing changes.
 */
import { randomBytes } from "node:crypto";
import { watch, type FSWatcher } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { resolveHome } from "../../peer-cli/src/peer/home.ts";
import { startPeer as startPeerHere, type RunningPeer } from "../../peer-cli/src/peer/start-peer.ts";
import { makeTempDir, startPeer as startPeerProcess, startTracker, waitFor, type Tracker } from "../../scripts/processes.ts";
import { startCountingProxy } from "../lib/counting-proxy.ts";
import { openRefreshers, type FullRefresher } from "../lib/full-refresh.ts";
import { JsonSocket, inWaves } from "../lib/json-socket.ts";
import { fmt, percentile, table, type SuiteOptions, type SuiteResult, type Target } from "../lib/report.ts";
import { UNBOUNDED, startOurTracker } from "../lib/servers.ts";
import { IdlePeers, type IdleStats } from "../lib/idle-peers.ts";

const COUNTING_TRACKER = join(import.meta.dirname, "../count-worker/wrangler.jsonc");
/** 1,000 users × 100 files: the catalog the issue measured, twice the default bound. */
const USERS = 1000;
const FILES = 100;
const REFRESH_MS = 30_000;
const PEERS = 200;
/** Registers a second while a curve point is measured: steady churn, so notices go out every second. */
const REGISTERS_PER_SECOND = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const root = () => randomBytes(32).toString("hex");
const kb = (bytes: number) => fmt(bytes / 1000, 1);

/** Holders of the catalog: USERS sockets, each registering FILES files. */
function loadCatalog(url: string): Promise<JsonSocket[]> {
  return inWaves(USERS, async (i) => {
    const socket = await JsonSocket.open(url);
    await socket.ok({ type: "hello", port: 20_000 + i, protocol: 2 });
    const files = Array.from({ length: FILES }, (_, f) => ({ path: `/sync/holder${i}/some/folder/file-${f}.bin`, size: 1_000_000 + f, root: root() }));
    await socket.ok({ type: "register", user: `holder${i}`, files });
    return socket;
  });
}

interface IdleBytes {
  listingBytes: number;
  snapshotBytes: number;
  snapshotSeconds: number;
  /** Per minute, tracker → peer and peer → tracker. */
  syncIn: number;
  syncOut: number;
  fullIn: number;
  fullOut: number;
  fullRefreshes: number;
}

/** One real peer through a counting proxy, idle, beside one full refresher through another. */
async function idleBytes(tracker: Tracker, dir: string, windowMs: number, log: (line: string) => void): Promise<IdleBytes> {
  const listingBytes = Buffer.byteLength(await (await fetch(`${tracker.http}/api/files`)).text());
  const [syncing, full] = await Promise.all([startCountingProxy(tracker.port), startCountingProxy(tracker.port)]);
  const started = performance.now();
  const peer = await startPeerProcess("idle", syncing.url, dir, { refresh: REFRESH_MS / 1000 });
  try {
    await waitFor("the idle peer's files.json to hold the catalog", async () => ((await stat(join(peer.home, "files.json")).catch(() => null))?.size ?? 0) >= listingBytes * 0.95, 600_000);
    const snapshotSeconds = (performance.now() - started) / 1000;
    const snapshotBytes = syncing.toClient;
    const [refresher] = await openRefreshers(full.url, 1);
    log(`sync: idle bytes for ${windowMs / 1000} s`);
    syncing.reset();
    full.reset();
    refresher!.start(REFRESH_MS, 0);
    await sleep(windowMs);
    const perMinute = (bytes: number) => (bytes * 60_000) / windowMs;
    const result = {
      listingBytes,
      snapshotBytes,
      snapshotSeconds,
      syncIn: perMinute(syncing.toClient),
      syncOut: perMinute(syncing.toTracker),
      fullIn: perMinute(full.toClient),
      fullOut: perMinute(full.toTracker),
      fullRefreshes: refresher!.refreshes,
    };
    refresher!.close();
    return result;
  } finally {
    await peer.kill();
    await Promise.all([syncing.close(), full.close()]);
  }
}

interface CurvePoint {
  peers: number;
  p50: number;
  p99: number;
  max: number;
  /** Notices the idle peers took as they came, and pulls they made, per second; bytes each peer received per second. */
  appliedPerSecond: number;
  pullsPerSecond: number;
  bytesPerPeerSecond: number;
}

/** Registers paced at `perSecond` for `windowMs`, each timed from send to reply. */
async function pacedRegisters(writer: JsonSocket, label: string, perSecond: number, windowMs: number): Promise<number[]> {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i * (1000 / perSecond) < windowMs; i++) {
    const due = started + i * (1000 / perSecond);
    if (due > performance.now()) await sleep(due - performance.now());
    inFlight.push(
      (async () => {
        const sent = performance.now();
        await writer.ok({ type: "register", user: "writer", files: [{ path: `/writer/${label}/${i}`, size: i, root: root() }] });
        latencies.push(performance.now() - sent);
      })(),
    );
  }
  await Promise.all(inFlight);
  return latencies;
}

/** Waits until the tracker answers a small request within 20 ms three times running: the last phase's closes and opens are done. */
async function settle(socket: JsonSocket): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (let quick = 0; quick < 3 && performance.now() < deadline; ) {
    const sent = performance.now();
    await socket.ok({ type: "list-users", limit: 1 });
    quick = performance.now() - sent < 20 ? quick + 1 : 0;
    await sleep(100);
  }
}

function point(peers: number, latencies: number[], idle: IdleStats | null, windowMs: number): CurvePoint {
  const seconds = windowMs / 1000;
  return {
    peers,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: Math.max(...latencies),
    appliedPerSecond: (idle?.applied ?? 0) / seconds,
    pullsPerSecond: (idle?.pulls ?? 0) / seconds,
    bytesPerPeerSecond: idle && idle.peers > 0 ? (idle.pulledBytes + idle.appliedBytes) / idle.peers / seconds : 0,
  };
}

/** Register latency with 0…1,000 idle syncing peers, then with full refreshers, on the loaded tracker. */
async function curves(tracker: Tracker, options: SuiteOptions): Promise<{ sync: CurvePoint[]; full: CurvePoint[] }> {
  const windowMs = options.quick ? 5_000 : 15_000;
  const writer = await JsonSocket.open(tracker.url);
  await writer.ok({ type: "hello", port: 19_999, protocol: 2 });
  const sync: CurvePoint[] = [];
  const idle = IdlePeers.start(tracker.url);
  try {
    for (const peers of options.quick ? [0, 1000] : [0, 100, 250, 500, 1000]) {
      await idle.grow(peers);
      await settle(writer);
      await idle.reset();
      options.log(`sync: register latency with ${peers} idle syncing peers`);
      const latencies = await pacedRegisters(writer, `s${peers}`, REGISTERS_PER_SECOND, windowMs);
      sync.push(point(peers, latencies, await idle.stats(), windowMs));
    }
  } finally {
    await idle.stop();
  }
  const full: CurvePoint[] = [];
  for (const peers of options.quick ? [0, 50] : [0, 25, 50, 100]) {
    const refreshers = await openRefreshers(tracker.url, peers);
    // Phases spread over a period, as peers started at different times.
    await settle(writer);
    for (const refresher of refreshers) refresher.start(REFRESH_MS, Math.random() * REFRESH_MS);
    options.log(`sync: register latency with ${peers} full refreshers`);
    full.push(point(peers, await pacedRegisters(writer, `f${peers}`, REGISTERS_PER_SECOND, windowMs), null, windowMs));
    for (const refresher of refreshers) refresher.close();
  }
  writer.close();
  return { sync, full };
}

/** Each home's users.txt, watched until it names `user`: when it did (performance.now()). */
function whenListed(homes: readonly string[], user: string): { seen: Promise<number[]>; close(): void } {
  const seen: (number | undefined)[] = homes.map(() => undefined);
  const watchers: FSWatcher[] = [];
  let poll: NodeJS.Timeout | undefined;
  let done: () => void = () => {};
  const check = async (i: number) => {
    if (seen[i] !== undefined) return;
    const text = await readFile(join(homes[i]!, "users.txt"), "utf8").catch(() => "");
    if (seen[i] === undefined && text.includes(`${user} – `)) {
      seen[i] = performance.now();
      if (seen.every((t) => t !== undefined)) done();
    }
  };
  const finished = new Promise<void>((resolve) => (done = resolve));
  homes.forEach((home, i) => watchers.push(watch(home, (_event, name) => name === "users.txt" && void check(i))));
  // A change the watcher coalesced away is still found, a little later.
  const sweep = () => {
    homes.forEach((_home, i) => void check(i));
    poll = setTimeout(sweep, 250);
  };
  poll = setTimeout(sweep, 250);
  const close = () => {
    clearTimeout(poll);
    for (const watcher of watchers) watcher.close();
  };
  return { seen: finished.then(() => seen as number[]), close };
}

async function register(url: string, user: string): Promise<{ socket: JsonSocket; sent: number }> {
  const socket = await JsonSocket.open(url);
  await socket.ok({ type: "hello", port: 9999, protocol: 2 });
  const sent = performance.now();
  await socket.ok({ type: "register", user, files: [{ path: `/new/${user}`, size: 1, root: root() }] });
  return { socket, sent };
}

const invocations = async (tracker: Tracker): Promise<Record<string, number>> => (await (await fetch(`${tracker.http}/debug/invocations`)).json()) as Record<string, number>;

function perMinute(before: Record<string, number>, after: Record<string, number>, windowMs: number): Record<string, number> {
  const kinds = new Set([...Object.keys(before), ...Object.keys(after)]);
  return Object.fromEntries([...kinds].map((kind) => [kind, (((after[kind] ?? 0) - (before[kind] ?? 0)) * 60_000) / windowMs]));
}

interface ManyPeers {
  /** Seconds from a new user's register to each peer's users.txt naming it, every peer, every run. */
  syncDelays: number[];
  fullDelays: number[];
  /** Invocations of the object per minute, by kind, while nothing changes. */
  syncWakes: Record<string, number>;
  fullWakes: Record<string, number>;
}

async function manyPeers(dir: string, options: SuiteOptions): Promise<ManyPeers> {
  const tracker = await startTracker({ config: COUNTING_TRACKER, vars: { MAX_SOCKETS_PER_ADDRESS: "100000" } });
  let peers: RunningPeer[] = [];
  const homes = Array.from({ length: PEERS }, (_, i) => join(dir, `peer${i}`));
  try {
    options.log(`sync: starting ${PEERS} peers`);
    peers = await inWaves(PEERS, (i) =>
      startPeerHere({ home: resolveHome(homes[i]), tracker: tracker.url, port: 0, bind: "127.0.0.1", user: `peer${i}`, refreshSeconds: REFRESH_MS / 1000, log: () => {}, fresh: true }),
    );
    await waitFor(
      "every peer's users.txt to list every peer",
      async () => (await Promise.all(homes.map((home) => readFile(join(home, "users.txt"), "utf8").catch(() => "")))).every((text) => text.split("\n").length > PEERS),
      120_000,
    );

    const syncDelays: number[] = [];
    const newcomers: JsonSocket[] = [];
    for (let run = 0; run < options.runs; run++) {
      const user = `newcomer${run}`;
      const listed = whenListed(homes, user);
      const { socket, sent } = await register(tracker.url, user);
      newcomers.push(socket);
      const seen = await Promise.race([listed.seen, sleep(60_000).then(() => null)]);
      listed.close();
      if (seen === null) throw new Error(`${user} did not reach every peer's users.txt within 60 s`);
      syncDelays.push(...seen.map((at) => (at - sent) / 1000));
    }

    // The same with full refreshers: one run, each refreshing every 30 s from its own phase.
    options.log(`sync: ${PEERS} full refreshers and a newcomer`);
    const refreshers = await openRefreshers(tracker.url, PEERS);
    for (const refresher of refreshers) refresher.start(REFRESH_MS, Math.random() * REFRESH_MS);
    for (const refresher of refreshers) refresher.watchFor("newcomer-full");
    const { socket: late, sent } = await register(tracker.url, "newcomer-full");
    await waitFor("every full refresher to list the newcomer", () => refreshers.every((r) => r.seenAt !== null), REFRESH_MS * 2 + 30_000);
    const fullDelays = refreshers.map((r) => (r.seenAt! - sent) / 1000);
    for (const refresher of refreshers) refresher.close();
    for (const socket of [...newcomers, late]) socket.close();

    // Idle: every peer up to date, nothing changing.
    await waitFor(
      "the newcomers to leave every users.txt",
      async () => (await Promise.all(homes.map((home) => readFile(join(home, "users.txt"), "utf8").catch(() => "")))).every((text) => !text.includes("newcomer")),
      60_000,
    );
    await sleep(3_000);
    const windowMs = options.quick ? 30_000 : 60_000;
    options.log(`sync: what wakes the object in ${windowMs / 1000} s with ${PEERS} idle peers`);
    let before = await invocations(tracker);
    await sleep(windowMs);
    const syncWakes = perMinute(before, await invocations(tracker), windowMs);

    options.log(`sync: what wakes the object in ${windowMs / 1000} s with ${PEERS} full refreshers`);
    const version = (await (await fetch(`${tracker.http}/api/users?limit=1`)).json() as { version: string }).version;
    const idleRefreshers: FullRefresher[] = await openRefreshers(tracker.url, PEERS);
    for (const refresher of idleRefreshers) refresher.start(REFRESH_MS, Math.random() * REFRESH_MS, version);
    before = await invocations(tracker);
    await sleep(windowMs);
    const fullWakes = perMinute(before, await invocations(tracker), windowMs);
    for (const refresher of idleRefreshers) refresher.close();
    return { syncDelays, fullDelays, syncWakes, fullWakes };
  } finally {
    await Promise.all(peers.map((peer) => peer.stop()));
    await tracker.stop();
  }
}

const ms = (value: number) => fmt(value, 1);

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const dir = await makeTempDir("p2p-bench-sync-");
  const tracker = await startOurTracker(UNBOUNDED);
  let bytes: IdleBytes;
  let curve: { sync: CurvePoint[]; full: CurvePoint[] };
  try {
    options.log(`sync: loading ${USERS} × ${FILES} files`);
    const holders = await loadCatalog(tracker.url);
    bytes = await idleBytes(tracker, dir, options.quick ? 30_000 : 60_000, options.log);
    curve = await curves(tracker, options);
    for (const holder of holders) holder.close();
  } finally {
    await tracker.stop();
  }
  const many = await manyPeers(dir, options);

  const curveRows = (points: CurvePoint[], pulls: boolean) =>
    points.map((p) => [p.peers, ms(p.p50), ms(p.p99), ms(p.max), ...(pulls ? [fmt(p.appliedPerSecond, 0), fmt(p.pullsPerSecond, 0), fmt(p.bytesPerPeerSecond, 0)] : [])]);
  const wakeKinds = ["message", "alarm", "start", "fetch", "close", "rpc"];
  const wakeRow = (name: string, wakes: Record<string, number>) => [name, ...wakeKinds.map((kind) => fmt(wakes[kind] ?? 0, 1))];
  const peerWakes = (wakes: Record<string, number>) => (wakes.message ?? 0) + (wakes.fetch ?? 0) + (wakes.rpc ?? 0);
  const allWakes = (wakes: Record<string, number>) => peerWakes(wakes) + (wakes.alarm ?? 0) + (wakes.close ?? 0);
  const last = curve.sync.at(-1)!;
  const p99New = percentile(many.syncDelays, 99);

  const body = `Reproduce: \`npm run bench -- --only sync\`. The first three measures run against a tracker holding ${fmt(USERS * FILES, 0)} entries (${USERS} users × ${FILES} files, a ${fmt(bytes.listingBytes / 1e6, 1)} MB listing): twice the default catalog bound, lifted with \`MAX_CATALOG_BYTES\` (\`UNBOUNDED\` in \`bench/lib/servers.ts\`, as the scale suite does). "Full refresh" is the behaviour before versions, emulated beside it in the same run (\`bench/lib/full-refresh.ts\`): list-users and the whole list-files every 30 s.

**Bytes the tracker sends one idle peer.** A real \`p2p-peer start\` (defaults: pings every 10 s, safety net every 30 s) through a counting TCP proxy, WebSocket framing included, over ${bytes.fullRefreshes === 1 ? "30" : "60"} s once its first snapshot is in, beside one full refresher through another proxy.

${table(
  ["peer", "tracker → peer per minute", "peer → tracker per minute"],
  [
    ["syncing (this design)", `${fmt(bytes.syncIn, 0)} B`, `${fmt(bytes.syncOut, 0)} B`],
    ["full refresh every 30 s", `${fmt(bytes.fullIn / 1e6, 1)} MB`, `${fmt(bytes.fullOut, 0)} B`],
  ],
)}

The syncing peer's one-time snapshot (at start, or after a tracker restart) was ${fmt(bytes.snapshotBytes / 1e6, 1)} MB in pages of at most 1 MiB, ${fmt(bytes.snapshotSeconds, 1)} s from start to its files.json written.

**Register latency beside idle peers.** One writer registers a new file ${REGISTERS_PER_SECOND} times a second (paced, so each request's wait is seen) for ${options.quick ? 5 : 15} s, beside N idle syncing peers (\`bench/lib/sync-client.ts\`, in a process of their own so that taking the notices never delays the writer: up to date, pinging with their version every 10 s, taking each notice's change set, pulling when one does not fit), then beside N full refreshers. Every register changes the catalog, so a notice goes out every second to every idle peer, carrying the second's changes, which each peer takes without a request: the steady churn this design pays most for.

${table(["idle syncing peers", "register p50 ms", "p99 ms", "max ms", "notices applied/s", "pulls/s", "bytes/s per peer"], curveRows(curve.sync, true))}

${table(["full refreshers", "register p50 ms", "p99 ms", "max ms"], curveRows(curve.full, false))}

**A new user reaching every peer.** ${PEERS} real peers in one process (\`startPeer\`, as the soak test runs them), each with its own home; a newcomer registers; the time from its register to each peer's users.txt naming it (a file watcher on each home), ${options.runs} newcomers × ${PEERS} peers. Then ${PEERS} full refreshers (30 s, random phases) and one newcomer.

${table(
  ["peers", "p50 s", "p99 s", "max s"],
  [
    ["syncing", fmt(percentile(many.syncDelays, 50), 2), fmt(p99New, 2), fmt(Math.max(...many.syncDelays), 2)],
    ["full refresh every 30 s", fmt(percentile(many.fullDelays, 50), 2), fmt(percentile(many.fullDelays, 99), 2), fmt(Math.max(...many.fullDelays), 2)],
  ],
)}

**What wakes the object while nothing changes**, per minute, with the same ${PEERS} peers idle and up to date, then with ${PEERS} full refreshers (whose pings, as before versions, cost nothing). Counted by the object itself (\`bench/count-worker\`: the shipped tracker, counting every message, alarm, start, request and RPC the runtime hands it, in its storage).

${table(["peers", ...wakeKinds.map((k) => `${k}s`)], [wakeRow("syncing", many.syncWakes), wakeRow("full refresh every 30 s", many.fullWakes)])}`;

  const targets: Target[] = [
    { name: `Bytes the tracker sends one idle peer per minute, ${fmt(USERS * FILES, 0)}-entry catalog (B)`, value: bytes.syncIn, target: "≤ 2,000", met: bytes.syncIn <= 2000 },
    { name: `Register p99 with ${last.peers} idle syncing peers, ${fmt(USERS * FILES, 0)}-entry catalog (ms)`, value: last.p99, target: "< 100", met: last.p99 < 100 },
    { name: `A new user in the users.txt of all ${PEERS} peers, p99 (s)`, value: p99New, target: "≤ 2", met: p99New <= 2 },
    { name: `Object wake-ups per minute caused by ${PEERS} idle peers`, value: peerWakes(many.syncWakes), target: "0", met: peerWakes(many.syncWakes) === 0 },
    // The heartbeat sweep's alarms wake the object whatever the peers do (a start is the same wake-up as its alarm).
    { name: `Object wake-ups per minute with ${PEERS} idle peers, the heartbeat sweep included`, value: allWakes(many.syncWakes), target: "0", met: allWakes(many.syncWakes) === 0 },
  ];
  options.log(`sync: idle bytes ${kb(bytes.syncIn)} KB/min (full ${kb(bytes.fullIn)} KB/min); p99 at ${last.peers}: ${ms(last.p99)} ms; new user p99 ${fmt(p99New, 2)} s`);
  return { title: "Sync: versions, notices and change sets", body, targets };
}
