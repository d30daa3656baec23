/**
 * What most end-to-end test files need: a temp folder, a real `wrangler dev`
 * tracker, and peers started against it, every one of them stopped and
 * everything removed after the file, even when a start failed half-way.
 */
import { rm } from "node:fs/promises";
import { afterAll, beforeAll } from "vitest";
import { makeTempDir, startPeer, startTracker, type PeerProcess, type Tracker, type TrackerOptions } from "../../../scripts/processes.ts";

export interface World {
  readonly dir: string;
  readonly tracker: Tracker;
  /** A peer in this world's folder, against its tracker, named `name` (also its home's folder name). */
  start(name: string, options?: Parameters<typeof startPeer>[3]): Promise<PeerProcess>;
  /** Run after the peers are stopped, before the tracker is. */
  readonly cleanups: Array<() => Promise<void> | void>;
}

/** `options`: how the tracker is started (its variables, e.g. TRACKER_SHARDS). */
export function useWorld(prefix: string, options: TrackerOptions = {}): World {
  let dir = "";
  let tracker: Tracker | undefined;
  const started: PeerProcess[] = [];
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(async () => {
    dir = await makeTempDir(prefix);
    tracker = await startTracker(options);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(started.map((peer) => peer.kill()));
    for (const cleanup of cleanups) await cleanup();
    await tracker?.stop();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
  return {
    get dir() {
      return dir;
    },
    get tracker() {
      if (!tracker) throw new Error("the tracker is not started yet");
      return tracker;
    },
    cleanups,
    async start(name, options) {
      const peer = await startPeer(name, this.tracker.url, dir, options);
      started.push(peer);
      return peer;
    },
  };
}
