/** The servers the benchmarks compare, each started fresh on a free loopback port. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { freePort, startTracker, type Tracker } from "../../scripts/processes.ts";

const HERE = import.meta.dirname;

export const startOurTracker = (): Promise<Tracker> => startTracker();

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
