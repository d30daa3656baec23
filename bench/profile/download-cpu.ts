/**
 * Where a downloading peer's main thread spends its time: a 1 GiB file
 * downloaded `--runs` times from one source, with the downloader run under
 * V8's CPU profiler; self time is summed by what each function is (SHA-256,
 * disk writes, socket reads, garbage collection, the rest) and reported per
 * GiB. `--tree DIR` profiles another checkout's peer (an older commit in a
 * git worktree, say) with the same harness, for a before/after.
 *
 *   node bench/profile/download-cpu.ts [--size 1024] [--runs 3] [--tree DIR]
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { download, makeRandomFile, MiB, removeCopy, runOk, waitForListing } from "../lib/peers.ts";

const { values } = parseArgs({ options: { size: { type: "string", default: "1024" }, runs: { type: "string", default: "3" }, tree: { type: "string" } } });
const size = Number(values.size) * MiB;
const runs = Number(values.runs);
const tree = resolve(values.tree ?? resolve(import.meta.dirname, "../.."));
// The checkout's own process helpers start its tracker and peers.
const processes = (await import(join(tree, "scripts/processes.ts"))) as typeof import("../../scripts/processes.ts");

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** What a sampled function is, by its name and where it lives. */
function kindOf({ functionName, url }: ProfileNode["callFrame"]): string {
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(idle)" || functionName === "(program)") return functionName;
  if (/\b(hash|digest|update|Hash)\b/.test(functionName) && (url === "" || url.includes("crypto"))) return "SHA-256";
  if (/^(write|writev|writeBuffer|fsync|sync)$/.test(functionName) || url.includes("fs/promises")) return "file I/O";
  if (/^(onStreamRead|onread|readableAddChunk)$/.test(functionName) || url.includes("net.js") || url.includes("stream")) return "socket reads";
  return "everything else";
}

const dir = await processes.makeTempDir("p2p-prof-");
const profiles = join(dir, "profiles");
const file = join(dir, "source.bin");
const tracker = await processes.startTracker();
try {
  await makeRandomFile(file, size);
  const server = await processes.startPeer("server", tracker.url, dir, { args: ["--user", "Server"] });
  const downloader = await processes.startPeer("downloader", tracker.url, dir, {
    env: { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${profiles}` },
  });
  await runOk(server, "register", "Server", file);
  await waitForListing(downloader, [{ user: "Server", path: file }]);
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const save = join(dir, `copy-${i}.bin`);
    seconds.push((await download(downloader, "Server", file, save, "--single-source")).seconds);
    await removeCopy(save);
  }
  // The profile is written when the process exits.
  await downloader.kill("SIGTERM");
  await server.kill();
  const names = (await readdir(profiles)).filter((name) => name.endsWith(".cpuprofile"));
  const totals = new Map<string, number>();
  for (const name of names) {
    const profile = JSON.parse(await readFile(join(profiles, name), "utf8")) as Profile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    profile.samples.forEach((id, i) => {
      const node = byId.get(id);
      if (!node) return;
      const kind = kindOf(node.callFrame);
      totals.set(kind, (totals.get(kind) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
    });
  }
  const gib = (size * runs) / (1024 * MiB);
  process.stdout.write(`tree: ${tree}\n${runs} downloads of ${size / MiB} MiB; seconds each: ${seconds.map((s) => s.toFixed(2)).join(", ")}\n\n`);
  process.stdout.write("| downloader main thread | ms per GiB |\n| --- | --- |\n");
  for (const [kind, ms] of [...totals].sort((a, b) => b[1] - a[1])) {
    if (kind === "(idle)") continue;
    process.stdout.write(`| ${kind} | ${(ms / gib).toFixed(0)} |\n`);
  }
} finally {
  await tracker.stop();
  await rm(dir, { recursive: true, force: true });
}
