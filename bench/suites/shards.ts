/**
 * The same mixed load (bench/lib/mixed-load.ts) against one tracker object
 * and against four shards with their hub, in one run. On one machine every
 * object shares the same two cores, so this measures what sharding costs
 * (gathering reads from every shard, publishing to the hub), not the
 * speed-up that many machines would give; SCALING.md has the arithmetic for
 * that. Each peer connects with `?user=` to its name's shard, as peers do.
 */
import { fmt, median, percentile, table, type SuiteOptions, type SuiteResult } from "../lib/report.ts";
import { helloAndRegister, mixedLoad } from "../lib/mixed-load.ts";
import { UNBOUNDED, startOurTracker } from "../lib/servers.ts";
import { LoadClient, type LoadResult } from "../lib/ws-load.ts";

const SHARD_COUNTS = [1, 4] as const;

/** FNV-1a, as the tracker places names (worker/src/shards/placement.ts). */
function shardOf(name: string, count: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % count;
}

async function openNamed(url: string, label: string, count: number): Promise<LoadClient[]> {
  const clients: LoadClient[] = [];
  for (let i = 0; i < count; i += 50) {
    const wave = Array.from({ length: Math.min(50, count - i) }, (_, j) => LoadClient.open(`${url}?user=${label}${i + j}`));
    clients.push(...(await Promise.all(wave)));
  }
  return clients;
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const peers = options.quick ? 100 : 200;
  const durationMs = options.quick ? 2000 : 5000;
  const results = new Map<number, LoadResult[]>();
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
    } finally {
      await tracker.stop();
    }
  }

  const m = (shards: number, pick: (r: LoadResult) => number) => median(results.get(shards)!.map(pick));
  const spread = (shards: number) => {
    const counts = Array.from({ length: shards }, () => 0);
    for (let i = 0; i < peers; i++) counts[shardOf(`s${shards}r0p${i}`, shards)]!++;
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
  const body = `Reproduce: \`npm run bench -- --only shards\`. ${peers} peers, each a WebSocket client connecting with \`?user=\` to its name's shard, say hello and register 100 files, then run the mixed load of *Tracker throughput* (register, unregister and list-users in equal shares, one peer listing every file once a second; closed loop, ${durationMs / 1000} s), against one object and against four shards and the hub, budgets lifted as in that suite. Every object runs in the same workerd on the same 2 cores, so more shards cannot be faster here: this is the cost of sharding, not its speed-up.

${table(["shards", "ops/s", "p50 ms", "p99 ms", "peers per shard", "ops/s per shard", "gathering RPCs/s (est.)"], rows)}

- *Gathering RPCs/s* is list-users' share of the mix times the other shards it asks; register and unregister never leave their shard, and reach the hub coalesced (at most one publication per shard per 20 ms).`;
  return {
    title: "Sharding: one object against four shards",
    body,
    targets: [{ name: "Mixed ops/s, 4 shards ÷ 1 object, same machine", value: ratio, target: "report (overhead)", met: true }],
  };
}
