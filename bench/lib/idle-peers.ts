/**
 * Many idle syncing peers (sync-client.ts) in a process of their own, so
 * that taking a thousand notices a second never delays the process that
 * times the requests measured beside them. The parent drives it over IPC:
 *
 *   const peers = await IdlePeers.start(url); await peers.grow(1000); … await peers.stats(); await peers.stop();
 */
import { fork, type ChildProcess } from "node:child_process";
import { openSyncClients, type SyncClient } from "./sync-client.ts";

export interface IdleStats {
  peers: number;
  applied: number;
  appliedBytes: number;
  pulls: number;
  pulledBytes: number;
}

type Command = { op: "grow"; to: number } | { op: "reset" } | { op: "stats" };

export class IdlePeers {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static start(url: string): IdlePeers {
    return new IdlePeers(fork(import.meta.filename, [url], { stdio: ["ignore", "inherit", "inherit", "ipc"] }));
  }

  #ask(command: Command): Promise<IdleStats> {
    return new Promise((resolve, reject) => {
      const exited = () => reject(new Error("the idle peers' process exited"));
      this.#child.once("exit", exited);
      this.#child.once("message", (stats) => {
        this.#child.off("exit", exited);
        resolve(stats as IdleStats);
      });
      this.#child.send(command);
    });
  }

  /** Opens peers until there are `to`. */
  grow = (to: number) => this.#ask({ op: "grow", to });
  /** Zeroes the counts. */
  reset = () => this.#ask({ op: "reset" });
  stats = () => this.#ask({ op: "stats" });

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once("exit", resolve));
    this.#child.kill();
    await exited;
  }
}

// The child: holds the clients and answers each command with the counts.
if (process.send && process.argv[1] === import.meta.filename) {
  const url = process.argv[2]!;
  const clients: SyncClient[] = [];
  const stats = (): IdleStats => {
    const sum = (of: (c: SyncClient) => number) => clients.reduce((total, c) => total + of(c), 0);
    return { peers: clients.length, applied: sum((c) => c.applied), appliedBytes: sum((c) => c.appliedBytes), pulls: sum((c) => c.pulls), pulledBytes: sum((c) => c.pulledBytes) };
  };
  process.on("message", async (command: Command) => {
    if (command.op === "grow") clients.push(...(await openSyncClients(url, command.to - clients.length, 30_000 + clients.length)));
    if (command.op === "reset") for (const c of clients) c.applied = c.appliedBytes = c.pulls = c.pulledBytes = 0;
    process.send!(stats());
  });
}
