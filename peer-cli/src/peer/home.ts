/** Where a peer keeps its local state; one home per running peer. */
import { mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export interface Home {
  dir: string;
  /** Unix socket the one-shot commands talk to. */
  controlSocket: string;
  /** The `user – host:port` map, refreshed from the tracker. */
  usersFile: string;
  /** The tracker's file list as of the last refresh. */
  filesFile: string;
  /** What this peer offers, for restarts and reconnects. */
  stateFile: string;
}

export function resolveHome(option?: string): Home {
  const dir = resolve(option ?? process.env.P2P_PEER_HOME ?? join(homedir(), ".p2p-peer"));
  return {
    dir,
    controlSocket: join(dir, "control.sock"),
    usersFile: join(dir, "users.txt"),
    filesFile: join(dir, "files.json"),
    stateFile: join(dir, "state.json"),
  };
}

/** Private to its owner: the control socket inside accepts commands. */
export async function ensureHome(home: Home): Promise<void> {
  await mkdir(home.dir, { recursive: true, mode: 0o700 });
}
