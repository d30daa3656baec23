/**
 * The tracker under abuse. 100 well-behaved peers run the mixed load while
 * one hostile socket floods malformed messages (from its own process), or
 * ten try to fill the catalog; each is measured against the same peers' load
 * without it, in the same run: their p99, the tracker's answers, and how much
 * memory workerd gained.
 *
 * Three floods: paced at 5,000 messages a second (the issue's first
 * reproduction), at full speed (the issue's benchmark), and paced by a client
 * that ignores the tracker's close. The last two bury the object's queue for
 * longer than a window, so each of their runs has a tracker of its own, and
 * requests still unanswered after GIVE_UP_MS are counted as such.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { MAX_CATALOG_BYTES } from "@p2p/shared";
import type { FloodReport } from "../lib/flooder.ts";
import { helloAndRegister, mixedLoad, randomSha } from "../lib/mixed-load.ts";
import { fmt, inTurn, mb, median, memoryOf, percentile, table, workerdPids, type SuiteOptions, type SuiteResult, type Target } from "../lib/report.ts";
import { startOurTracker } from "../lib/servers.ts";
import { openClients, type LoadClient, type LoadResult } from "../lib/ws-load.ts";

const PEERS = 100;
const FLOODER = join(import.meta.dirname, "../lib/flooder.ts");
/** After a one-off flood, peers' requests still unanswered this long after the window are given up on. */
const GIVE_UP_MS = 10_000;

interface FloodKind {
  name: string;
  /** Arguments for bench/lib/flooder.ts after the URL; the message is always `{` (malformed JSON). */
  args: string[];
  what: string;
}

const PACED: FloodKind = { name: "paced flood", args: ["6", "--rate", "5000"], what: "5,000 messages a second for up to 6 s, stopping when closed (the issue's first reproduction)" };
const FULL_SPEED: FloodKind = { name: "full-speed flood", args: ["3"], what: "as fast as the socket takes the frames for up to 3 s, stopping when closed (the issue's benchmark)" };
const STUBBORN: FloodKind = { name: "stubborn flood", args: ["3", "--rate", "5000", "--ignore-close"], what: "5,000 messages a second for 3 s, ignoring the tracker's close" };

type Pids = { tracker?: number; proxy?: number };

interface Window {
  load: LoadResult;
  /** Resident memory gained over the window: the tracker's workerd, and wrangler's proxy workerd in front of it. */
  trackerGrowth: number;
  proxyGrowth: number;
}

interface CatalogAttempt {
  /** Files the tracker accepted from the hostile sockets. */
  accepted: number;
  /** Refusals the hostile sockets got, by error code. */
  refusals: Map<string, number>;
  /** The listing afterwards: list-files reply and GET /api/files. */
  listFilesBytes: number;
  apiStatus: number;
  apiBytes: number;
}

interface Sample {
  quiet: Window;
  paced: Window & { flooder: FloodReport };
  catalog: Window & { attempt: CatalogAttempt };
}

interface OneOff {
  kind: FloodKind;
  quiet: Window;
  flood: Window & { flooder: FloodReport };
}

const execFileAsync = promisify(execFile);
const rssOf = async (pid: number | undefined) => (pid ? (await memoryOf(pid)).rss : Number.NaN);

async function measure<T>(pids: Pids, work: () => Promise<[LoadResult, T]>): Promise<Window & { extra: T }> {
  const before = await Promise.all([rssOf(pids.tracker), rssOf(pids.proxy)]);
  const [load, extra] = await work();
  const after = await Promise.all([rssOf(pids.tracker), rssOf(pids.proxy)]);
  return { load, trackerGrowth: after[0] - before[0], proxyGrowth: after[1] - before[1], extra };
}

async function flood(url: string, kind: FloodKind): Promise<FloodReport> {
  const { stdout } = await execFileAsync(process.execPath, [FLOODER, url, ...kind.args], { maxBuffer: 1024 * 1024 });
  return JSON.parse(stdout) as FloodReport;
}

/** One socket: hello, then register batches until the tracker refuses one; returns files accepted and the refusal. */
async function registerUntilRefused(client: LoadClient, user: string, batches: number, batch: (b: number) => object[]): Promise<{ accepted: number; refusal: string | null }> {
  await client.request(JSON.stringify({ id: 1, type: "hello", port: 30_000, protocol: 2 }));
  let accepted = 0;
  for (let b = 0; b < batches; b++) {
    const files = batch(b);
    const reply = JSON.parse(await client.request(JSON.stringify({ id: 2 + b, type: "register", user, files }))) as { ok: boolean; error?: { code: string } };
    if (!reply.ok) return { accepted, refusal: reply.error?.code ?? "unknown" };
    accepted += files.length;
  }
  return { accepted, refusal: null };
}

/** As in the issue: one user with 10,000 files of 4 KB paths (40 messages of 250), nine with 10,000 short paths each. */
async function fillCatalog(tracker: { url: string; http: string }, label: string): Promise<CatalogAttempt> {
  const sockets = await openClients(tracker.url, 10);
  const sha = randomSha();
  const longPath = (i: number, f: number) => `/hostile/${label}${i}/${"x".repeat(3990)}/${f}`;
  const shortPath = (i: number, f: number) => `/hostile/${label}${i}/f${f}`;
  const outcomes = await Promise.all(
    sockets.map((socket, i) =>
      i === 0
        ? registerUntilRefused(socket, `${label}${i}`, 40, (b) => Array.from({ length: 250 }, (_, f) => ({ path: longPath(i, b * 250 + f), size: 1, root: sha })))
        : registerUntilRefused(socket, `${label}${i}`, 10, (b) => Array.from({ length: 1000 }, (_, f) => ({ path: shortPath(i, b * 1000 + f), size: 1, root: sha }))),
    ),
  );
  const [observer] = await openClients(tracker.url, 1);
  const listFilesBytes = Buffer.byteLength(await observer!.request(JSON.stringify({ id: 1, type: "list-files" })));
  observer!.close();
  const api = await fetch(`${tracker.http}/api/files`);
  const apiBytes = (await api.arrayBuffer()).byteLength;
  for (const socket of sockets) socket.close();
  const refusals = new Map<string, number>();
  for (const { refusal } of outcomes) if (refusal) refusals.set(refusal, (refusals.get(refusal) ?? 0) + 1);
  return { accepted: outcomes.reduce((sum, o) => sum + o.accepted, 0), refusals, listFilesBytes, apiStatus: api.status, apiBytes };
}

/** Waits until list-users answers within 50 ms again, so one window's aftermath never leaks into the next. */
async function settle(client: LoadClient): Promise<void> {
  const deadline = performance.now() + 120_000;
  while (performance.now() < deadline) {
    const started = performance.now();
    await client.request(JSON.stringify({ id: 1, type: "list-users" }));
    if (performance.now() - started < 50) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("the tracker did not settle within 120 s");
}

/** A tracker and its peers, warmed up by one unmeasured window of the mixed load (the heap grows to its working size). */
async function setUp(windowMs: number): Promise<{ tracker: Awaited<ReturnType<typeof startOurTracker>>; pids: Pids; peers: LoadClient[] }> {
  const tracker = await startOurTracker();
  const pids = await workerdPids(tracker);
  const peers = await openClients(tracker.url, PEERS);
  await helloAndRegister(peers, "h");
  await mixedLoad(peers, "h", windowMs);
  return { tracker, pids, peers };
}

/** A flood the tracker cannot clear within a window, on a tracker of its own: a quiet window, then the flood. */
async function oneOff(kind: FloodKind, windowMs: number): Promise<OneOff> {
  const { tracker, pids, peers } = await setUp(windowMs);
  try {
    const quiet = await measure(pids, async () => [await mixedLoad(peers, "h", windowMs), null] as [LoadResult, null]);
    const window = await measure(pids, async () => {
      const [load, flooder] = await Promise.all([mixedLoad(peers, "h", windowMs, GIVE_UP_MS), flood(tracker.url, kind)]);
      return [load, flooder] as [LoadResult, FloodReport];
    });
    // Peers given up on cannot be used again; the tracker goes with them.
    for (const peer of peers) peer.close();
    return { kind, quiet, flood: { ...window, flooder: window.extra } };
  } finally {
    await tracker.stop();
  }
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const windowMs = options.quick ? 4000 : 5000;
  const samples: Sample[] = [];
  const { tracker, pids, peers } = await setUp(windowMs);
  try {
    for (let r = 0; r < options.runs; r++) {
      options.log(`hostile: run ${r + 1}/${options.runs}`);
      await settle(peers[0]!);
      const [quiet, paced] = await inTurn(
        r,
        () => measure(pids, async () => [await mixedLoad(peers, "h", windowMs), null] as [LoadResult, null]),
        async () => {
          const window = await measure(pids, async () => {
            const [load, flooder] = await Promise.all([mixedLoad(peers, "h", windowMs), flood(tracker.url, PACED)]);
            return [load, flooder] as [LoadResult, FloodReport];
          });
          await settle(peers[0]!);
          return window;
        },
      );
      await settle(peers[0]!);
      const catalog = await measure(pids, async () => {
        const [load, attempt] = await Promise.all([mixedLoad(peers, "h", windowMs), fillCatalog(tracker, `c${r}u`)]);
        return [load, attempt] as [LoadResult, CatalogAttempt];
      });
      samples.push({ quiet, paced: { ...paced, flooder: paced.extra }, catalog: { ...catalog, attempt: catalog.extra } });
    }
    for (const peer of peers) peer.close();
  } finally {
    await tracker.stop();
  }
  const oneOffs: OneOff[] = [];
  for (let r = 0; r < options.runs; r++) {
    for (const kind of [FULL_SPEED, STUBBORN]) {
      options.log(`hostile: ${kind.name} ${r + 1}/${options.runs}, on a tracker of its own`);
      oneOffs.push(await oneOff(kind, windowMs));
    }
  }
  return report(samples, oneOffs, windowMs);
}

const p99 = (w: Window) => percentile(w.load.latenciesMs, 99);
const growth = (w: Window) => w.trackerGrowth + w.proxyGrowth;
const growthCell = (w: Window) => `${mb(w.trackerGrowth)} + ${mb(w.proxyGrowth)}`;
const flooderCells = (f: FloodReport) => [
  fmt(f.sent, 0),
  fmt(f.replies, 0),
  f.rateLimitedAfterMs === null ? "never" : fmt(f.rateLimitedAfterMs, 0),
  f.closedAfterMs === null ? "never" : `${fmt(f.closedAfterMs, 0)} (${f.closeCode ?? "no code"})`,
];

function report(samples: Sample[], oneOffs: OneOff[], windowMs: number): SuiteResult {
  const m = (pick: (s: Sample) => number) => median(samples.map(pick));
  const windowRow = (name: string, pick: (s: Sample) => Window) => [
    name,
    fmt(m((s) => pick(s).load.perSecond), 0),
    fmt(m((s) => percentile(pick(s).load.latenciesMs, 50)), 2),
    fmt(m((s) => p99(pick(s))), 2),
    fmt(m((s) => Math.max(...pick(s).load.latenciesMs)), 0),
    mb(m((s) => pick(s).trackerGrowth)),
    mb(m((s) => pick(s).proxyGrowth)),
  ];
  const paced = samples.map((s, i) => [i + 1, ...flooderCells(s.paced.flooder), `${fmt(p99(s.quiet), 2)} → ${fmt(p99(s.paced), 2)}`, growthCell(s.paced)]);
  const attempts = samples.map((s, i) => {
    const a = s.catalog.attempt;
    return [
      i + 1,
      fmt(a.accepted, 0),
      [...a.refusals].map(([code, n]) => `${code} × ${n}`).join(", ") || "none",
      mb(a.listFilesBytes),
      `${a.apiStatus}, ${mb(a.apiBytes)} MB`,
      `${fmt(p99(s.quiet), 2)} → ${fmt(p99(s.catalog), 2)}`,
      growthCell(s.catalog),
    ];
  });
  const oneOffRows = oneOffs.map(({ kind, quiet, flood }, i) => [
    `${kind.name}, run ${Math.floor(i / 2) + 1}`,
    ...flooderCells(flood.flooder),
    `${fmt(p99(quiet), 2)} → ${flood.load.unanswered > 0 ? "≥ " : ""}${fmt(p99(flood), 0)}`,
    `${flood.load.unanswered > 0 ? "≥ " : ""}${fmt(Math.max(...flood.load.latenciesMs), 0)}`,
    fmt(flood.load.unanswered, 0),
    growthCell(flood),
  ]);

  const pacedRatio = m((s) => p99(s.paced) / p99(s.quiet));
  const catalogRatio = m((s) => p99(s.catalog) / p99(s.quiet));
  const fullSpeed = oneOffs.filter((o) => o.kind === FULL_SPEED);
  const fullRatio = median(fullSpeed.map((o) => p99(o.flood) / p99(o.quiet)));
  const fullGrowth = median(fullSpeed.map((o) => growth(o.flood)));
  const largestListing = Math.max(...samples.flatMap((s) => [s.catalog.attempt.listFilesBytes, s.catalog.attempt.apiBytes]));
  const targets: Target[] = [
    { name: "Peers' p99, paced flood / without (×)", value: pacedRatio, target: "≤ 2", met: pacedRatio <= 2 },
    { name: "workerd growth over a paced flood, tracker + proxy (MB)", value: m((s) => growth(s.paced)) / 1e6, target: "< 100", met: m((s) => growth(s.paced)) < 100e6 },
    { name: "Peers' p99, full-speed flood / without (×)", value: fullRatio, target: "≤ 2", met: fullRatio <= 2 },
    { name: "workerd growth over a full-speed flood, tracker + proxy (MB)", value: fullGrowth / 1e6, target: "< 100", met: fullGrowth < 100e6 },
    { name: "Peers' p99, catalog attempt / without (×)", value: catalogRatio, target: "≤ 2", met: catalogRatio <= 2 },
    { name: "workerd growth over a catalog attempt, tracker + proxy (MB)", value: m((s) => growth(s.catalog)) / 1e6, target: "< 100", met: m((s) => growth(s.catalog)) < 100e6 },
    { name: "Largest listing during catalog attempts (MB)", value: largestListing / 1e6, target: `≤ ${mb(MAX_CATALOG_BYTES)}`, met: largestListing <= MAX_CATALOG_BYTES },
  ];

  const body = `Reproduce: \`npm run bench -- --only hostile\`. ${PEERS} well-behaved peers (one WebSocket each, in the load-generator process, closed loop) say hello, register 100 files each and run one unmeasured window to warm up, then run the tracker suite's mixed load in windows of ${windowMs / 1000} s: quiet, during a flood, during a catalog attempt. Quiet and paced-flood windows alternate which goes first; the tracker settles (list-users answers within 50 ms) between windows. The tracker runs with its default budgets, except the bound on sockets per address (every client here is 127.0.0.1).

- **Floods**: one more socket, from its own process (\`bench/lib/flooder.ts\`, raw frames on a TCP socket), sends \`{\` (malformed JSON): a **${PACED.name}**, ${PACED.what}; a **${FULL_SPEED.name}**, ${FULL_SPEED.what}; a **${STUBBORN.name}**, ${STUBBORN.what}. The peers' window starts with the flood.
- **Catalog attempt**: ten more sockets try to fill the catalog at once, as in the issue: one registers 10,000 files with 4 KB paths (40 messages of 250), nine register 10,000 short paths each; each stops at its first refusal. Then one socket asks for list-files and \`GET /api/files\` is fetched.
- Memory is the growth of workerd's resident set (VmRSS) from just before to just after each window, for the workerd that runs the tracker and for wrangler's proxy workerd in front of it (\`wrangler dev\` relays every socket through it; in production Cloudflare's edge stands there). Targets take the sum.

${table(["window", "peers' ops/s", "p50 ms", "p99 ms", "max ms", "tracker workerd growth MB", "proxy workerd growth MB"], [
  windowRow("quiet", (s) => s.quiet),
  windowRow(PACED.name, (s) => s.paced),
  windowRow("catalog attempt", (s) => s.catalog),
])}

The ${PACED.name}, run by run (times from the flooder's first message):

${table(["run", "messages sent", "replies", "rate-limited after ms", "closed after ms (code)", "peers' p99 ms, quiet → flood", "workerd growth MB, tracker + proxy"], paced)}

The catalog attempt, run by run:

${table(["run", "hostile files accepted", "refusals", "list-files reply MB", "/api/files", "peers' p99 ms, quiet → attempt", "workerd growth MB, tracker + proxy"], attempts)}

Floods the tracker cannot clear within a window, each run on a tracker of its own (warmed up, then a quiet window, then the flood, same peers; the target takes the median of the runs); a request still unanswered ${GIVE_UP_MS / 1000} s after the window is given up on and counted with its wait so far, so p99 and max are then lower bounds:

${table(["flood", "messages sent", "replies", "rate-limited after ms", "closed after ms (code)", "peers' p99 ms, quiet → flood", "max ms", "unanswered", "workerd growth MB, tracker + proxy"], oneOffRows)}`;
  return { title: "Hostile clients", body, targets };
}
