/** The servers the benchmarks compare, each started fresh on a free loopback port. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { freePort, startTracker, type Tracker } from "../../scripts/processes.ts";

const HERE = import.meta.dirname;

/**
 * Every benchmark client connects from 127.0.0.1, which the tracker would
 * otherwise hold to MAX_SOCKETS_PER_ADDRESS sockets; and none pings, which
 * would get it dropped after the heartbeat timeout (a real peer's pings are
 * answered by the runtime and never reach the object, so this changes
 * nothing measured).
 */
export const ONE_ADDRESS = { MAX_SOCKETS_PER_ADDRESS: "1000000", HEARTBEAT_TIMEOUT_MS: "3600000" };

/**
 * For throughput, also lift the per-socket message budget (a closed-loop
 * client sends far more than any peer would) and the catalog bound (1,000
 * peers × 1,000 files is a catalog far past it): those suites measure how
 * fast the tracker works, not where it draws its lines.
 */
export const UNBOUNDED = { ...ONE_ADDRESS, SOCKET_TOKENS_PER_SECOND: "1000000000", MAX_CATALOG_BYTES: "17179869184" };

export const startOurTracker = (vars: Record<string, string> = ONE_ADDRESS): Promise<Tracker> => startTracker({ vars });

export const startEchoTracker = (): Promise<Tracker> => startTracker({ config: join(HERE, "../echo-worker/wrangler.jsonc") });

export interface BtTracker {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** webtorrent's bittorrent-tracker in its own Node process, as it would run in production. */
export async function startBtTracker(): Promise<BtTracker> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(HERE, "bt-tracker-server.ts"), String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolve());
    child.once("exit", (code) => reject(new Error(`bittorrent-tracker exited with ${code}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}
