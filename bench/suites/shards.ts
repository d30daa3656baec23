/**
 * The same mixed load (bench/lib/mixed-load.ts) against one tracker object
 * and against four shards with their hub, in one run. On one machine every
 * object shares the same two cores, so this measures what sharding costs
 * (gathering reads from every shard, publishing to the hub), not the
 * speed-up that many machines would give; SCALING.md has the arithmetic for
 * that. Each peer connects with `?user=` to its name's shard, as peers do.
 */
import { shardOfName } from "@p2p/shared";
import { fmt, median, percentile, table, type SuiteOptions, type SuiteResult } from "../lib/report.ts";
import { helloAndRegister, mixedLoad } from "../lib/mixed-load.ts";
import { UNBOUNDED, startOurTracker } from "../lib/servers.ts";
import { LoadClient, type LoadResult } from "../lib/ws-load.ts";

const SHARD_COUNTS = [1, 4] as const;
/** Syncing sockets that wait for each newcomer's notice. */
const WATCHERS = 200;

/**
 * A socket that asked for sync and only listens: when does a CHANGED
 * notice naming `user` reach it? Watchers connect without a name, so on
 * four shards they spread over all of them.
 */
async function watcher(url: string): Promise<{ noticeOf: (user: string) => Promise<number>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve, { once: true });
    ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
  });
  const waiting = new Map<string, (at: number) => void>();
  ws.addEventListener("message", (event) => {
    const text = String(event.data);
    if (!text.startsWith('{"type":"changed"')) return;
    const at = performance.now();
    for (const [user, resolve] of waiting) if (text.includes(`"user":${JSON.stringify(user)}`)) (waiting.delete(user), resolve(at));
  });
  ws.send(JSON.stringify({ id: 1, type: "sync" }));
  return { noticeOf: (user) => new Promise((resolve) => waiting.set(user, resolve)), close: () => ws.close() };
}

/** Seconds from each newcomer's register to its notice at every watcher. */
async function noticeDelays(url: string, label: string, newcomers: number): Promise<number[]> {
  const watchers = await Promise.all(Array.from({ length: WATCHERS }, () => watcher(url)));
  // Let the sync answers go out and the notices' pace reset before the first newcomer.
  await new Promise((r) => setTimeout(r, 1500));
  const delays: number[] = [];
  for (let i = 0; i < newcomers; i++) {
    const user = `${label}new${i}`;
    const seen = watchers.map((w) => w.noticeOf(user));
    const [client] = await openNamed(url, `${label}new`, 1, i);
    await client!.request(JSON.stringify({ id: 1, type: "hello", port: 9000 + i, protocol: 2 }));
    const sent = performance.now();
    await client!.request(JSON.stringify({ id: 2, type: "register", user, files: [] }));
    const arrivals = await Promise.race([Promise.all(seen), new Promise<null>((r) => setTimeout(() => r(null), 10_000))]);
    if (arrivals === null) throw new Error(`${user}'s notice did not reach every watcher within 10 s`);
    delays.push(...arrivals.map((at) => (at - sent) / 1000));
    client!.close();
    // Notices go out at most once a second: each newcomer finds the pace reset.
    await new Promise((r) => setTimeout(r, 1200));
  }
  for (const w of watchers) w.close();
  return delays;
}

async function openNamed(url: string, label: string, count: number, first = 0): Promise<LoadClient[]> {
  const clients: LoadClient[] = [];
  for (let i = first; i < first + count; i += 50) {
    const wave = Array.from({ length: Math.min(50, first + count - i) }, (_, j) => LoadClient.open(`${url}?user=${label}${i + j}`));
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const peers = options.quick ? 100 : 200;
  const durationMs = options.quick ? 2000 : 5000;
  const results = new Map<number, LoadResult[]>();
  const delays = new Map<number, number[]>();
  for (const shards of SHARD_COUNTS) {
    const tracker = await startOurTracker({ ...UNBOUNDED, TRACKER_SHARDS: String(shards) });
    try {
      for (let runIndex = 0; runIndex < options.runs; runIndex++) {
        options.log(`shards: ${shards} shard(s), run ${runIndex + 1}/${options.runs}, ${peers} peers`);
        const label = `s${shards}r${runIndex}p`;
        const clients = await openNamed(tracker.url, label, peers);
        await helloAndRegister(clients, label);
        results.set(shards, [...(results.get(shards) ?? []), await mixedLoad(clients, label, durationMs)]);
        for (const client of clients) client.close();
        await new Promise((r) => setTimeout(r, 500)); // let closes settle before the next run
      }
      options.log(`shards: ${shards} shard(s), a newcomer's notice to ${WATCHERS} syncing sockets`);
      delays.set(shards, await noticeDelays(tracker.url, `s${shards}w`, options.quick ? 3 : 10));
    } finally {
      await tracker.stop();
    }
  }

  const m = (shards: number, pick: (r: LoadResult) => number) => median(results.get(shards)!.map(pick));
  const spread = (shards: number) => {
    const counts = Array.from({ length: shards }, () => 0);
    for (let i = 0; i < peers; i++) counts[shardOfName(`s${shards}r0p${i}`, shards)]!++;
    return counts;
  };
  const rows = SHARD_COUNTS.map((shards) => {
    const perSecond = m(shards, (r) => r.perSecond);
    const counts = spread(shards);
    // A third of the mix is list-users, gathered from every other shard; register and unregister stay on their shard.
    const fanOut = shards === 1 ? 0 : (perSecond / 3) * (shards - 1);
    return [
      shards,
      fmt(perSecond, 0),
      fmt(m(shards, (r) => percentile(r.latenciesMs, 50)), 2),
      fmt(m(shards, (r) => percentile(r.latenciesMs, 99)), 2),
      counts.join(" / "),
      fmt(perSecond / shards, 0),
      fmt(fanOut, 0),
    ];
  });
  const ratio = m(4, (r) => r.perSecond) / m(1, (r) => r.perSecond);
  const noticeRows = SHARD_COUNTS.map((shards) => {
    const d = delays.get(shards)!;
    return [shards, fmt(percentile(d, 50), 3), fmt(percentile(d, 99), 3), fmt(Math.max(...d), 3)];
  });
  const p99Sharded = percentile(delays.get(4)!, 99);
  const body = `Reproduce: \`npm run bench -- --only shards\`. ${peers} peers, each a WebSocket client connecting with \`?user=\` to its name's shard, say hello and register 100 files, then run the mixed load of *Tracker throughput* (register, unregister and list-users in equal shares, one peer listing every file once a second; closed loop, ${durationMs / 1000} s), against one object and against four shards and the hub, budgets lifted as in that suite. Every object runs in the same workerd on the same 2 cores, so more shards cannot be faster here: this is the cost of sharding, not its speed-up.

${table(["shards", "ops/s", "p50 ms", "p99 ms", "peers per shard", "ops/s per shard", "gathering RPCs/s (est.)"], rows)}

- *Gathering RPCs/s* is list-users' share of the mix times the other shards it asks; register and unregister never leave their shard, and reach the hub coalesced (at most one publication per shard per 20 ms).

**A change reaching every peer.** ${WATCHERS} sockets that asked for \`sync\` (on four shards, spread over all of them, since they connect without a name); a newcomer registers, ${options.quick ? 3 : 10} times, 1.2 s apart; the time from its register to the CHANGED notice naming it at each socket. On four shards the notice goes shard → hub → every shard → its sockets.

${table(["shards", "p50 s", "p99 s", "max s"], noticeRows)}`;
  return {
    title: "Sharding: one object against four shards",
    body,
    targets: [
      { name: "Mixed ops/s, 4 shards ÷ 1 object, same machine", value: ratio, target: "report (overhead)", met: true },
      { name: `A newcomer's notice at all ${WATCHERS} syncing sockets, 4 shards, p99 (s)`, value: p99Sharded, target: "≤ 2 (as on one object)", met: p99Sharded <= 2 },
    ],
  };
}
