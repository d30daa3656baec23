/**
 * Where a peer keeps its local state; one home per running peer. What is in
 * it decides what the peer offers to everyone (state.json) and who may
 * command it (control.sock), so a home another user can write is never used
 * as it is.
 */
import { chmod, lstat, mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { EXIT, PeerError } from "../errors.ts";
import { errnoCode } from "../files/errno.ts";
import { workingDirectory } from "../working-directory.ts";

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
  /** Held by the running peer: one peer per home. */
  lockFile: string;
  /** Piece maps of offered content, kept across restarts. */
  piecesDir: string;
}

/** The home from --home, $P2P_PEER_HOME or ~/.p2p-peer; a relative one is taken from `cwd`. */
export function resolveHome(option?: string, cwd = workingDirectory()): Home {
  const given = option ?? process.env.P2P_PEER_HOME ?? join(homedir(), ".p2p-peer");
  if (!isAbsolute(given) && cwd === undefined) {
    throw new PeerError("usage", `cannot tell where the home ${given} is: the working directory cannot be read; give an absolute --home`, EXIT.usage);
  }
  const dir = cwd === undefined ? resolve(given) : resolve(cwd, given);
  return {
    dir,
    controlSocket: join(dir, "control.sock"),
    usersFile: join(dir, "users.txt"),
    filesFile: join(dir, "files.json"),
    stateFile: join(dir, "state.json"),
    lockFile: join(dir, "peer.lock"),
    piecesDir: join(dir, "pieces"),
  };
}

/** Group or others may write. */
const WRITABLE_BY_OTHERS = 0o022;

const unsafe = (message: string) => new PeerError("unsafe-home", message, EXIT.failed);

/**
 * Creates the home private to its owner, or checks an existing one: it must
 * be a directory owned by this user (a home of ours that others may open or
 * write is tightened to 0700), and no file in it that the peer reads may be
 * owned or writable by anyone else. Returns what it tightened, for the log.
 */
export async function secureHome(home: Home): Promise<string[]> {
  await mkdir(home.dir, { recursive: true, mode: 0o700 });
  const uid = process.getuid?.();
  if (uid === undefined) return []; // no owners to check (Windows)
  const notes: string[] = [];
  const dir = await lstat(home.dir);
  if (!dir.isDirectory()) throw unsafe(`the peer's home ${home.dir} is not a directory (a symlink or file is in its place)`);
  if (dir.uid !== uid) {
    throw unsafe(`the peer's home ${home.dir} belongs to user ${dir.uid}, not to you (${uid}); use a home of your own (--home)`);
  }
  if ((dir.mode & 0o077) !== 0) {
    await chmod(home.dir, 0o700);
    notes.push(`made ${home.dir} private (it was mode ${(dir.mode & 0o777).toString(8)})`);
  }
  for (const file of [home.stateFile, home.usersFile, home.filesFile, home.controlSocket, home.lockFile]) {
    const info = await lstat(file).catch((error: unknown) => {
      if (errnoCode(error) === "ENOENT") return null;
      throw error;
    });
    if (info === null) continue;
    if (info.uid !== uid || (info.mode & WRITABLE_BY_OTHERS) !== 0 || info.isSymbolicLink()) {
      const why = info.isSymbolicLink() ? "is a symlink" : info.uid !== uid ? `belongs to user ${info.uid}` : "is writable by others";
      throw unsafe(
        `${file} ${why}, so someone else may have written it; the peer will not trust it.\n` +
          `Check it, then remove it (the peer rebuilds it) or start with another --home`,
      );
    }
  }
  return notes;
}
