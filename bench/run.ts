/**
 * `npm run bench [-- --quick] [--only tracker,scale,transfer,multi-source,hostile,sync,page,shards,shard-sim]`
 *
 * Runs every benchmark on this machine and prints markdown for
 * BENCHMARKS.md: medians of 5 runs (1 with --quick), ratios taken in the
 * same run, and each target with whether it was met.
 */
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { SuiteOptions, SuiteResult } from "./lib/report.ts";

const { values } = parseArgs({ options: { quick: { type: "boolean", default: false }, only: { type: "string" } } });
const quick = values.quick === true;
const options: SuiteOptions = { quick, runs: quick ? 1 : 5, log: (line) => process.stderr.write(`[bench] ${line}\n`) };

const suites: Record<string, () => Promise<{ run: (o: SuiteOptions) => Promise<SuiteResult> }>> = {
  tracker: () => import("./suites/tracker.ts"),
  scale: () => import("./suites/scale.ts"),
  transfer: () => import("./suites/transfer.ts"),
  "multi-source": () => import("./suites/multi-source.ts"),
  hostile: () => import("./suites/hostile.ts"),
  sync: () => import("./suites/sync.ts"),
  page: () => import("./suites/page.ts"),
  shards: () => import("./suites/shards.ts"),
  "shard-sim": () => import("./suites/shard-sim.ts"),
};
const selected = values.only ? values.only.split(",") : Object.keys(suites);

const wrangler = execFileSync(join(import.meta.dirname, "../node_modules/.bin/wrangler"), ["--version"], { encoding: "utf8" }).trim().split("\n").pop();
const started = Date.now();
const out: string[] = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} × ${cpus()[0]?.model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, wrangler ${wrangler}; ${quick ? "quick run (1 run each, shorter)" : "medians of 5 runs"}.`,
];
const targets: SuiteResult["targets"] = [];
for (const name of selected) {
  const load = suites[name];
  if (!load) throw new Error(`unknown suite ${name}; choose from ${Object.keys(suites).join(", ")}`);
  options.log(`suite ${name}…`);
  const result = await (await load()).run(options);
  out.push(`\n## ${result.title}\n\n${result.body}`);
  targets.push(...result.targets);
}
out.push(
  `\n## Targets\n\n| target | measured | goal | met |\n| --- | --- | --- | --- |\n${targets
    .map((t) => `| ${t.name} | ${Number.isFinite(t.value) ? t.value.toFixed(2) : "n/a"} | ${t.target} | ${t.met ? "yes" : "**no**"} |`)
    .join("\n")}`,
);
out.push(`\n_Bench took ${((Date.now() - started) / 1000).toFixed(0)} s._`);
process.stdout.write(`${out.join("\n")}\n`);
