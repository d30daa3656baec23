/**
 * Real processes for end-to-end tests, the demo and benchmarks: a
 * `wrangler dev` tracker and `p2p-peer start` peers with their own homes.
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const PEER_BIN = join(ROOT, "peer-cli/bin/p2p-peer.js");
// Run with this Node (≥ 22), whatever `node` is first on PATH.
export const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function collect(child: ChildProcess): { text: () => string } {
  let text = "";
  child.stdout?.on("data", (d) => (text += d));
  child.stderr?.on("data", (d) => (text += d));
  return { text: () => text };
}

/** Sends `signal`, and SIGKILL if the process has not exited within `graceMs`. */
async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
  await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
    await exited;
  }
}

export interface Tracker {
  port: number;
  /** The wrangler process; its workerd runs in the same process group. */
  pid: number;
  url: string;
  http: string;
  stop(): Promise<void>;
  logs(): string;
}

export interface TrackerOptions {
  port?: number;
  /** Durable Object storage; kept on stop when given, so a restart finds it. */
  stateDir?: string;
  /** Worker variables, e.g. HEARTBEAT_TIMEOUT_MS, or P2P_TOKEN (otherwise open, whatever .dev.vars says). */
  vars?: Record<string, string>;
  /** Another worker's wrangler config (the benchmarks' echo worker). */
  config?: string;
}

export async function startTracker(options: TrackerOptions = {}): Promise<Tracker> {
  // A port freePort() found may be taken by another process (other test files,
  // other checkouts on the machine) before wrangler binds it: pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launchTracker(options);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof Error && error.message.includes("Address already in use"))) throw error;
    }
  }
}

async function launchTracker(options: TrackerOptions): Promise<Tracker> {
  const port = options.port ?? (await freePort());
  const inspector = await freePort();
  const state = options.stateDir ?? (await mkdtemp(join(tmpdir(), "p2p-tracker-")));
  // Probes stay on this machine, whatever address a peer may be seen at.
  const vars = Object.entries({ P2P_TOKEN: "", PROBE_LOOPBACK_ONLY: "1", ...options.vars }).flatMap(([key, value]) => ["--var", `${key}:${value}`]);
  const config = options.config ? ["--config", options.config] : [];
  const args = ["dev", ...config, "--ip", "127.0.0.1", "--port", String(port), "--persist-to", state, "--inspector-port", String(inspector), "--show-interactive-dev-session=false", ...vars];
  const child = spawn(process.execPath, [WRANGLER, ...args], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const output = collect(child);
  const http = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      "wrangler dev to answer /health",
      async () => {
        if (child.exitCode !== null) throw new Error(`wrangler dev exited: ${output.text()}`);
        return fetch(`${http}/health`).then((r) => r.ok, () => false);
      },
      60_000,
    );
  } catch (error) {
    await stopProcess(child);
    throw error;
  }
  return {
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    http,
    logs: output.text,
    async stop() {
      await stopProcess(child);
      if (!options.stateDir) await rm(state, { recursive: true, force: true });
    },
    pid: child.pid!,
  };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PeerProcess {
  name: string;
  home: string;
  child: ChildProcess;
  logs(): string;
  run(...args: string[]): Promise<RunResult>;
  /** Runs a command from another working directory. */
  runIn(cwd: string, ...args: string[]): Promise<RunResult>;
  /** Stops the peer with `signal` (SIGTERM), killing it after `graceMs` (5 s) if it has not exited. */
  kill(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** The mini-server's port, from the peer's log. */
  miniServerPort(): number;
}

/**
 * The program and arguments that run p2p-peer: the repository's wrapper with
 * this Node, or (`bin`) an installed `p2p-peer` through its own `#!` line.
 */
function peerCommand(args: string[], bin?: string): [string, string[]] {
  return bin ? [bin, args] : [process.execPath, [PEER_BIN, ...args]];
}

export function runPeerCli(args: string[], env: Record<string, string> = {}, cwd?: string, bin?: string): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const options = { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, ...(cwd ? { cwd } : {}) };
    execFile(...peerCommand(args, bin), options, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

export async function startPeer(
  name: string,
  tracker: string,
  baseDir: string,
  options: { refresh?: number; env?: Record<string, string>; args?: string[]; bin?: string } = {},
): Promise<PeerProcess> {
  const home = join(baseDir, name);
  const { bin } = options;
  const args = ["start", "--tracker", tracker, "--home", home, "--bind", "127.0.0.1", "--refresh", String(options.refresh ?? 1), ...(options.args ?? [])];
  const child = spawn(...peerCommand(args, bin), { env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const output = collect(child);
  await waitFor(`peer ${name} to be ready`, () => {
    if (child.exitCode !== null) throw new Error(`peer ${name} exited: ${output.text()}`);
    return output.text().includes("ready:");
  });
  return {
    name,
    home,
    child,
    logs: output.text,
    run: (...args) => runPeerCli(args, { ...options.env, P2P_PEER_HOME: home }, undefined, bin),
    runIn: (cwd, ...args) => runPeerCli(args, { ...options.env, P2P_PEER_HOME: home }, cwd, bin),
    kill: (signal = "SIGTERM", graceMs) => stopProcess(child, signal, graceMs),
    miniServerPort: () => Number(/mini-server listening on \S*:(\d+)/.exec(output.text())?.[1]),
  };
}

export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
