/**
 * Where a peer's memory goes before any transfer: the resident size of an
 * idle `p2p-peer start` as shipped (TypeScript run through Node's type
 * stripping), of the same code bundled to plain JavaScript (built here with
 * esbuild into a temp folder, for comparison only), and of bare Node.
 * `node bench/profile/peer-memory.ts`
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { memoryOf } from "../lib/report.ts";
import { startTracker } from "../../scripts/processes.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const dir = await mkdtemp(join(tmpdir(), "p2p-mem-"));
const bundle = join(dir, "p2p-peer.mjs");
await build({
  entryPoints: [join(ROOT, "peer-cli/src/cli/main.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  outfile: bundle,
  footer: { js: "await runCli(process.argv.slice(2));" },
  logLevel: "error",
});
const tracker = await startTracker();

/** Starts a process, waits until it is idle, and reads its resident memory. */
async function idleRss(args: string[], ready: (output: string) => boolean): Promise<number> {
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  for (let i = 0; i < 200 && !ready(output); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 1500));
  const { rss } = await memoryOf(child.pid!);
  child.kill("SIGKILL");
  return rss;
}

const peerArgs = (home: string) => ["start", "--tracker", tracker.url, "--home", join(dir, home), "--bind", "127.0.0.1"];
try {
  const rows: [string, number][] = [
    ["bare node (an idle timer)", await idleRss(["-e", "setInterval(() => {}, 1000); console.log('ready')"], (o) => o.includes("ready"))],
    ["p2p-peer start, as shipped (TypeScript, type stripping)", await idleRss([join(ROOT, "peer-cli/bin/p2p-peer.js"), ...peerArgs("a")], (o) => o.includes("ready:"))],
    ["p2p-peer start, bundled to JavaScript", await idleRss([bundle, ...peerArgs("b")], (o) => o.includes("ready:"))],
  ];
  process.stdout.write("| idle process | resident MB |\n| --- | --- |\n");
  for (const [name, rss] of rows) process.stdout.write(`| ${name} | ${(rss / 1e6).toFixed(1)} |\n`);
} finally {
  await tracker.stop();
  await rm(dir, { recursive: true, force: true });
}
