/**
 * Tracker throughput and latency at 1, 100 and 1,000 WebSocket peers, beside
 * its ceiling (an echo Durable Object on the same stack) and webtorrent's
 * bittorrent-tracker, all measured in the same run.
 */
import { randomBytes } from "node:crypto";
import { fmt, median, percentile, table, type SuiteOptions, type SuiteResult, type Target } from "../lib/report.ts";
import { UNBOUNDED, startBtTracker, startEchoTracker, startOurTracker } from "../lib/servers.ts";
import { FILES_PER_PEER, expectOk, helloAndRegister, mixedLoad, randomSha } from "../lib/mixed-load.ts";
import { closedLoop, openClients, type LoadClient, type LoadResult } from "../lib/ws-load.ts";

/** Files per register message in the registration benchmark: the most one message may carry. */
const BATCH = 1000;

/** Batched registers: each message re-registers a peer's batch of files with new hashes. */
function registerLoad(clients: LoadClient[], label: string, durationMs: number): Promise<LoadResult> {
  const batches = [0, 1].map(() => Array.from({ length: BATCH }, (_, f) => ({ f, root: randomSha() })));
  return closedLoop(
    clients,
    durationMs,
    (client, seq) =>
      JSON.stringify({
        id: seq + 10,
        type: "register",
        user: `${label}${client}`,
        files: batches[seq % 2]!.map(({ f, root }) => ({ path: `/bench/${label}${client}/batch-${f}`, size: 1000 + f, root })),
      }),
    expectOk,
  );
}

/** The same traffic shape to the echo object: a small request, answered by itself. */
const echoLoad = (clients: LoadClient[], durationMs: number) =>
  closedLoop(clients, durationMs, (client, seq) =>
    JSON.stringify({ id: seq, type: "register", user: `echo${client}`, files: [{ path: `/bench/e${client}/x-${seq % 10}`, size: seq, root: "0".repeat(64) }] }),
  );

const binary20 = () => String.fromCharCode(...randomBytes(20).map((b) => 32 + (b % 90)));

/** Announces to bittorrent-tracker: each client one torrent, one peer id, re-announcing. */
function announceLoad(clients: LoadClient[], durationMs: number): Promise<LoadResult> {
  const ids = clients.map(() => ({ info_hash: binary20(), peer_id: binary20() }));
  return closedLoop(
    clients,
    durationMs,
    (client, seq) =>
      JSON.stringify({ action: "announce", ...ids[client], numwant: 0, uploaded: 0, downloaded: 0, left: 0, ...(seq === 0 ? { event: "started" } : {}) }),
    (reply) => {
      if (!reply.includes('"action":"announce"')) throw new Error(`bittorrent-tracker answered: ${reply.slice(0, 200)}`);
    },
  );
}

interface Sample {
  mixed: LoadResult;
  echo: LoadResult;
  register: LoadResult;
  announce: LoadResult;
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const sizes = options.quick ? [1, 100] : [1, 100, 1000];
  const durationMs = options.quick ? 2000 : 5000;
  const [ours, echo, bt] = await Promise.all([startOurTracker(UNBOUNDED), startEchoTracker(), startBtTracker()]);
  const samples = new Map<number, Sample[]>();
  try {
    for (let runIndex = 0; runIndex < options.runs; runIndex++) {
      for (const n of sizes) {
        options.log(`tracker: run ${runIndex + 1}/${options.runs}, ${n} peers`);
        const label = `r${runIndex}n${n}p`;
        const trackerClients = await openClients(ours.url, n);
        await helloAndRegister(trackerClients, label);
        const mixed = await mixedLoad(trackerClients, label, durationMs);
        const register = await registerLoad(trackerClients, label, durationMs);
        for (const c of trackerClients) c.close();

        const echoClients = await openClients(echo.url, n);
        const echoed = await echoLoad(echoClients, durationMs);
        for (const c of echoClients) c.close();

        const btClients = await openClients(bt.url, n);
        const announce = await announceLoad(btClients, durationMs);
        for (const c of btClients) c.close();

        samples.set(n, [...(samples.get(n) ?? []), { mixed, echo: echoed, register, announce }]);
        await new Promise((r) => setTimeout(r, 500)); // let closes settle before the next size
      }
    }
  } finally {
    await Promise.all([ours.stop(), echo.stop(), bt.stop()]);
  }

  const m = (n: number, pick: (s: Sample) => number) => median(samples.get(n)!.map(pick));
  const rows = sizes.map((n) => [
    n,
    fmt(m(n, (s) => s.mixed.perSecond), 0),
    fmt(m(n, (s) => percentile(s.mixed.latenciesMs, 50)), 2),
    fmt(m(n, (s) => percentile(s.mixed.latenciesMs, 99)), 2),
    fmt(m(n, (s) => s.echo.perSecond), 0),
    fmt(m(n, (s) => percentile(s.echo.latenciesMs, 50)), 2),
    fmt(m(n, (s) => percentile(s.echo.latenciesMs, 99)), 2),
    `${fmt(m(n, (s) => s.mixed.perSecond / s.echo.perSecond), 2)}×`,
  ]);
  const regRows = sizes.map((n) => [
    n,
    fmt(m(n, (s) => s.register.perSecond), 0),
    fmt(m(n, (s) => s.register.perSecond * BATCH), 0),
    fmt(m(n, (s) => percentile(s.register.latenciesMs, 99)), 2),
    fmt(m(n, (s) => s.announce.perSecond), 0),
    fmt(m(n, (s) => percentile(s.announce.latenciesMs, 99)), 2),
    `${fmt(m(n, (s) => (s.register.perSecond * BATCH) / s.announce.perSecond), 1)}×`,
  ]);

  const targets: Target[] = [];
  for (const n of sizes.filter((n) => n >= 100)) {
    const rate = m(n, (s) => s.mixed.perSecond / s.echo.perSecond);
    targets.push({ name: `Tracker message rate / echo DO, ${n} peers`, value: rate, target: "≥ 0.8×", met: rate >= 0.8 });
    const reg = m(n, (s) => (s.register.perSecond * BATCH) / s.announce.perSecond);
    targets.push({ name: `File registrations/s ÷ bittorrent-tracker announces/s, ${n} peers`, value: reg, target: "≥ 10×", met: reg >= 10 });
  }
  const p99 = m(100, (s) => percentile(s.mixed.latenciesMs, 99) / percentile(s.echo.latenciesMs, 99));
  targets.push({ name: "p99 at 100 peers / echo DO p99", value: p99, target: "≤ 2×", met: p99 <= 2 });

  const body = `Reproduce: \`npm run bench -- --only tracker\`. Each peer is a WebSocket client in one load-generator process on the same machine, with exactly one request outstanding (closed loop) for ${durationMs / 1000} s per measurement. Before the mixed load each peer says hello and registers ${FILES_PER_PEER} files. The tracker runs with its budgets lifted (\`UNBOUNDED\` in \`bench/lib/servers.ts\`): every client comes from one address, a closed-loop client sends far more than a peer, and 1,000 peers × 1,000 files is far past the catalog budget; this suite measures how fast the tracker works, the hostile suite where it draws its lines.

**Mixed load** (register one file, unregister one file, list-users, in equal shares; one peer also runs list-files over everything once a second) against the **echo Durable Object** (same worker → one object → hibernating WebSocket path, answering each message with itself), same client count, same run:

${table(["peers", "tracker ops/s", "p50 ms", "p99 ms", "echo ops/s", "echo p50 ms", "echo p99 ms", "tracker / echo"], rows)}

**Batched registrations** (each message registers ${BATCH} files for its peer, alternating between two sets of hashes, so every file is written each time) against **bittorrent-tracker** ${"11.2.3"} (webtorrent's, WebSocket announces, in its own Node process), same client count, same run:

${table(["peers", "register msgs/s", "files registered/s", "p99 ms", "announces/s", "announce p99 ms", "files/s ÷ announces/s"], regRows)}`;
  return { title: "Tracker throughput and latency", body, targets };
}
