/** Medians, percentiles and the markdown a suite reports. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Target {
  name: string;
  /** The measured value, in the unit the target speaks of. */
  value: number;
  /** "≥ 0.8×", "< 500 ms", … */
  target: string;
  met: boolean;
}

export interface SuiteResult {
  title: string;
  /** Markdown: tables and notes. */
  body: string;
  targets: Target[];
}

export interface SuiteOptions {
  quick: boolean;
  /** Repetitions for medians: 5 for the full run, 1 with --quick. */
  runs: number;
  log: (line: string) => void;
}

type Cell = string | number;

export function table(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<Cell>>): string {
  const line = (cells: ReadonlyArray<Cell>) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

export const fmt = (value: number, digits = 1): string =>
  Number.isFinite(value) ? value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "n/a";

export const mb = (bytes: number): string => fmt(bytes / 1e6, 1);

/** Peak and current resident memory of a process, from /proc (Linux). */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** The pids of a process and all its descendants (wrangler → workerd). */
export async function processTree(pid: number): Promise<number[]> {
  const { readdir, readFile } = await import("node:fs/promises");
  const parents = new Map<number, number[]>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!parents.has(ppid)) parents.set(ppid, []);
    parents.get(ppid)!.push(Number(entry));
  }
  const out: number[] = [];
  const visit = (p: number) => {
    out.push(p);
    for (const child of parents.get(p) ?? []) visit(child);
  };
  visit(pid);
  return out;
}

/**
 * The two workerd processes under a `wrangler dev`: the one that runs the
 * worker and its Durable Objects, and wrangler's proxy in front of it (the
 * one listening on the public port), which relays every socket.
 */
export async function workerdPids(tracker: { pid: number; port: number }): Promise<{ tracker?: number; proxy?: number }> {
  const { readFile } = await import("node:fs/promises");
  const found: { tracker?: number; proxy?: number } = {};
  for (const pid of await processTree(tracker.pid)) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (!cmdline.some((arg) => arg.endsWith("/workerd"))) continue;
    if (cmdline.includes(`--socket-addr=entry=127.0.0.1:${tracker.port}`)) found.proxy = pid;
    else found.tracker = pid;
  }
  return found;
}

/** Runs both measurements, alternating which goes first by run, so neither always meets the warmer cache. */
export async function inTurn<A, B>(run: number, a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  if (run % 2 === 0) {
    const first = await a();
    return [first, await b()];
  }
  const second = await b();
  return [await a(), second];
}
