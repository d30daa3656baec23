/**
 * Transfer: one big file peer to peer over loopback (single source, every
 * piece checked against a map proved by the content root, written and fsynced
 * to disk) against a plain Node `net` copy of the same file in the same run,
 * plus socat when present; and registering that file (one hashing pass for
 * its content root) against `sha256sum` of it.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { open, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { freePort, makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../scripts/processes.ts";
import { download, makeRandomFile, MiB, removeCopy, runOk, waitForListing } from "../lib/peers.ts";
import { fmt, inTurn, median, memoryOf, table, type SuiteOptions, type SuiteResult } from "../lib/report.ts";

/** The raw baseline's server: streams the file to every connection, as plainly as Node allows. */
const RAW_SERVER = `
const net = require("node:net"), fs = require("node:fs");
const server = net.createServer((socket) => {
  socket.on("error", () => {});
  fs.createReadStream(process.env.RAW_FILE).pipe(socket);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

/** The raw baseline's client: socket → file, fsynced like the peer's download; prints its own timing. */
const RAW_CLIENT = `
const net = require("node:net"), fs = require("node:fs");
const started = performance.now();
const fd = fs.openSync(process.env.RAW_OUT, "w");
const out = fs.createWriteStream(process.env.RAW_OUT, { fd, autoClose: false });
const socket = net.connect({ host: "127.0.0.1", port: Number(process.env.RAW_PORT) });
socket.on("error", (error) => { console.error(error); process.exit(1); });
socket.pipe(out);
out.on("finish", () => {
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(JSON.stringify({ seconds, bytes: fs.statSync(process.env.RAW_OUT).size, peak: process.resourceUsage().maxRSS * 1024 }) + "\\n");
});
`;

interface RawRun {
  seconds: number;
  /** The client's peak RSS. */
  peak: number;
}

function output(child: ChildProcess): { text: () => string } {
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  return { text: () => text };
}

function exited(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill("SIGTERM");
  await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
}

async function startRawServer(file: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ["-e", RAW_SERVER], { env: { ...process.env, RAW_FILE: file }, stdio: ["ignore", "pipe", "pipe"] });
  const out = output(child);
  const port = await waitFor("the raw TCP server to listen", () => {
    if (child.exitCode !== null) throw new Error(`the raw TCP server exited: ${out.text()}`);
    const line = /^(\d+)\n/.exec(out.text());
    return line ? Number(line[1]) : undefined;
  });
  return { child, port };
}

async function rawCopy(port: number, save: string, size: number): Promise<RawRun> {
  const child = spawn(process.execPath, ["-e", RAW_CLIENT], {
    env: { ...process.env, RAW_PORT: String(port), RAW_OUT: save },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = output(child);
  const code = await exited(child);
  if (code !== 0) throw new Error(`the raw TCP client exited ${code}: ${out.text()}`);
  const result = JSON.parse(out.text().trim()) as { seconds: number; bytes: number; peak: number };
  if (result.bytes !== size) throw new Error(`the raw TCP copy has ${result.bytes} bytes, not ${size}`);
  return { seconds: result.seconds, peak: result.peak };
}

/** socat file → TCP → file, fsynced afterwards like the others; wall-clock seconds. */
async function socatCopy(socat: string, file: string, save: string, size: number): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const receiver = spawn(socat, ["-u", `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr`, `CREATE:${save}`], { stdio: ["ignore", "ignore", "pipe"] });
  try {
    let sent = false;
    for (let attempt = 0; !sent && attempt < 50; attempt++) {
      const sender = spawn(socat, ["-u", `OPEN:${file},rdonly`, `TCP:127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "ignore"] });
      sent = (await exited(sender)) === 0;
      if (!sent) await new Promise((r) => setTimeout(r, 20));
    }
    if (!sent || (await exited(receiver)) !== 0) throw new Error("socat failed");
    const handle = await open(save, "r+");
    await handle.sync();
    await handle.close();
    const seconds = (performance.now() - started) / 1000;
    if ((await stat(save)).size !== size) throw new Error("the socat copy has the wrong size");
    return seconds;
  } finally {
    await stop(receiver);
  }
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const { log, runs } = options;
  const size = (options.quick ? 256 : 1024) * MiB;
  const sizeLabel = options.quick ? "256 MiB" : "1 GiB";
  const mbps = (seconds: number) => size / 1e6 / seconds;

  let socat: string | undefined;
  try {
    socat = execFileSync("which", ["socat"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    socat = undefined;
  }

  const dir = await makeTempDir("p2p-bench-transfer-");
  const file = join(dir, "source.bin");
  const rawSave = join(dir, "raw-copy.bin");
  const socatSave = join(dir, "socat-copy.bin");
  let tracker: Tracker | undefined;
  const peers: PeerProcess[] = [];
  let rawServer: { child: ChildProcess; port: number } | undefined;
  try {
    log(`transfer: writing a ${sizeLabel} random file under ${dir}`);
    await makeRandomFile(file, size);

    tracker = await startTracker();
    const server = await startPeer("server", tracker.url, dir, { args: ["--user", "Server"] });
    peers.push(server);
    const downloader = await startPeer("downloader", tracker.url, dir);
    peers.push(downloader);
    // Registering hashes every piece once (the content root); sha256sum reads and hashes the same bytes once.
    const registering: number[] = [];
    const summing: number[] = [];
    for (let i = 0; i < Math.max(1, runs); i++) {
      const [reg, sum] = await inTurn(
        i,
        async () => {
          const started = performance.now();
          await runOk(server, "register", "Server", file);
          return (performance.now() - started) / 1000;
        },
        async () => {
          const started = performance.now();
          execFileSync("sha256sum", [file], { stdio: "ignore" });
          return (performance.now() - started) / 1000;
        },
      );
      registering.push(reg);
      summing.push(sum);
      log(`transfer: register ${fmt(reg, 2)} s, sha256sum ${fmt(sum, 2)} s`);
    }
    await waitForListing(downloader, [{ user: "Server", path: file }]);
    rawServer = await startRawServer(file);

    const p2p = async (label: string): Promise<number> => {
      const save = join(dir, `p2p-copy-${label}.bin`);
      const outcome = await download(downloader, "Server", file, save, "--single-source");
      if (outcome.size !== size) throw new Error(`the p2p copy has ${outcome.size} bytes, not ${size}`);
      await removeCopy(save);
      log(`transfer: p2p ${label}: ${fmt(outcome.seconds, 2)} s (${fmt(mbps(outcome.seconds), 0)} MB/s)`);
      return outcome.seconds;
    };
    const raw = async (label: string): Promise<RawRun> => {
      const result = await rawCopy(rawServer!.port, rawSave, size);
      await rm(rawSave, { force: true });
      log(`transfer: raw ${label}: ${fmt(result.seconds, 2)} s (${fmt(mbps(result.seconds), 0)} MB/s)`);
      return result;
    };

    // The first download after registering: the piece map comes from registration, no second pass.
    const cold = await p2p("first");

    const p2pRuns: number[] = [];
    const rawRuns: RawRun[] = [];
    const socatRuns: number[] = [];
    const ratios: number[] = [];
    const socatRatios: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [r, p] = await inTurn(i, () => raw(`run ${i + 1}`), () => p2p(`run ${i + 1}`));
      p2pRuns.push(p);
      rawRuns.push(r);
      // Throughput ratio p2p/raw = raw seconds / p2p seconds.
      ratios.push(r.seconds / p);
      if (socat) {
        try {
          const s = await socatCopy(socat, file, socatSave, size);
          socatRuns.push(s);
          socatRatios.push(s / p);
          log(`transfer: socat run ${i + 1}: ${fmt(s, 2)} s`);
        } catch (error) {
          log(`transfer: socat failed: ${(error as Error).message}`);
        } finally {
          await rm(socatSave, { force: true });
        }
      }
    }

    const downloaderMemory = await memoryOf(downloader.child.pid!);
    const serverMemory = await memoryOf(server.child.pid!);
    const rawServerMemory = await memoryOf(rawServer.child.pid!);
    const ratio = median(ratios);
    const p2pSeconds = median(p2pRuns);
    const rawSeconds = median(rawRuns.map((r) => r.seconds));
    const downloaderPeak = downloaderMemory.peak / 1e6;
    const serverPeak = serverMemory.peak / 1e6;

    const rows: (string | number)[][] = [
      ["p2p, first download after registering", fmt(cold, 2), fmt(mbps(cold), 0), "—", "—", "—"],
      [
        "p2p, warm (median)",
        fmt(p2pSeconds, 2),
        fmt(mbps(p2pSeconds), 0),
        `${fmt(ratio, 2)}×`,
        fmt(downloaderPeak, 1),
        fmt(serverPeak, 1),
      ],
      [
        "raw Node `net` copy (median)",
        fmt(rawSeconds, 2),
        fmt(mbps(rawSeconds), 0),
        "1.00×",
        fmt(median(rawRuns.map((r) => r.peak)) / 1e6, 1),
        fmt(rawServerMemory.peak / 1e6, 1),
      ],
    ];
    if (socatRuns.length > 0) {
      const s = median(socatRuns);
      rows.push(["socat (median)", fmt(s, 2), fmt(mbps(s), 0), `p2p/socat ${fmt(median(socatRatios), 2)}×`, "—", "—"]);
    }

    const perRun = table(
      ["run", "raw s", "p2p s", "p2p/raw"],
      ratios.map((q, i) => [i + 1, fmt(rawRuns[i]!.seconds, 2), fmt(p2pRuns[i]!, 2), `${fmt(q, 2)}×`]),
    );

    const body = [
      `A ${sizeLabel} random file over loopback, one source, ${runs} run${runs === 1 ? "" : "s"} after one cold download; reproduce with \`npm run bench -- --only transfer\`${options.quick ? " (this was `--quick`: 256 MiB, 1 run)" : ""}.`,
      "",
      table(["case", "seconds", "MB/s", "vs raw (throughput)", "receiver peak RSS (MB)", "sender peak RSS (MB)"], rows),
      "",
      perRun,
      "",
      table(
        ["hashing the file", "seconds (median)", "MB/s"],
        [
          ["`p2p-peer register` (content root: every piece hashed once, one read)", fmt(median(registering), 2), fmt(mbps(median(registering)), 0)],
          ["`sha256sum` of the same file", fmt(median(summing), 2), fmt(mbps(median(summing)), 0)],
        ],
      ),
      "",
      "- p2p: a `wrangler dev` tracker, a serving `p2p-peer start` process and a downloading one; `p2p-peer download --single-source --json`, timed by the peer (`seconds`: piece map proved against the root, every piece SHA-256-checked on arrival, written in place, fsync, link into place; no whole-file pass). Each copy is deleted after its run.",
      "- The serving peer keeps the piece map it computed while registering, so even the first download needs no pass over the file on the serving side; it is still shown apart. The target uses the warm median.",
      "- Registering is timed from the command (the control socket and the tracker's answer included), `sha256sum` as a process; both read the file from the page cache, and runs alternate which goes first.",
      "- Raw: a `node -e` server process streaming the file with `fs.createReadStream` → socket and a `node -e` client process socket → `fs.createWriteStream`, then fsync (as the peer does); timed by the client from connect to fsync. Default stream buffer sizes, no hashing.",
      `- Ratios are taken per run (raw seconds / p2p seconds, i.e. p2p throughput over raw), then the median; runs alternate which copy goes first. Both read the source from the page cache.`,
      "- Peak RSS is VmHWM from /proc/<pid>/status: for p2p, the downloading peer process (over all its downloads) and the serving peer process (its mini-server, over registering, the piece map and every upload); for raw, the client's maxRSS (median) and the server process's VmHWM.",
      socat ? `- socat: \`socat -u OPEN:… TCP:…\` into \`socat -u TCP-LISTEN:… CREATE:…\`, then fsync; wall clock.` : "- socat: not installed on this machine (`which socat` found nothing), so skipped.",
    ].join("\n");

    return {
      title: "Transfer: peer to peer vs a raw TCP copy",
      body,
      targets: [
        { name: "Transfer vs raw Node TCP copy (every byte verified)", value: ratio, target: "≥ 1.0×", met: ratio >= 1.0 },
        { name: "Registering vs sha256sum of the same file (time ratio)", value: median(registering) / median(summing), target: "report", met: true },
        { name: "Downloader peak RSS (MB)", value: downloaderPeak, target: "< 100", met: downloaderPeak < 100 },
        { name: "Mini-server peak RSS (MB)", value: serverPeak, target: "< 100", met: serverPeak < 100 },
      ],
    };
  } finally {
    await stop(rawServer?.child);
    await Promise.all(peers.map((p) => p.kill()));
    await tracker?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
