/** What a registered file looked like, so later reads can tell whether it is still the same file. */
import { PeerError } from "../errors.ts";
import { errnoCode } from "./errno.ts";
import { rootHexOfLeaves } from "./content-root.ts";
import { openRegularFile } from "./open-regular.ts";
import { hashPieces } from "./piece-hashes.ts";

export interface FileFingerprint {
  size: number;
  /** The content root (content-root.ts), 64 hex digits. */
  root: string;
  dev: number;
  ino: number;
  mtimeMs: number;
  /** Changes with any write, even one that puts the old mtime back. */
  ctimeMs: number;
  /** When the content was hashed (ms since the epoch). */
  hashedAt: number;
}

/**
 * File times tick coarsely, so a write in the same tick as the hash leaves
 * every time unchanged. A file whose times are this close to its hash is
 * re-hashed on the next check, as git does with "racily clean" files. Times
 * with a fraction of a second come from a kernel clock that ticks at most
 * every 10 ms; whole seconds may mean a file system that keeps 1–2 s.
 */
export function racyWindowMs(times: { mtimeMs: number; ctimeMs: number }): number {
  return times.mtimeMs % 1000 !== 0 || times.ctimeMs % 1000 !== 0 ? 20 : 2000;
}

/** The device and inode a file must still have: the one registered, however its path is reached. */
export interface SameInode {
  dev: number;
  ino: number;
}

/**
 * What a file looks like now, with its piece hashes (the leaves of its root).
 * With `inode`, only that very file is read: a path that now leads to
 * another file (replaced, or a symlink pointed elsewhere) is refused.
 */
export async function hashFile(path: string, inode?: SameInode): Promise<{ fingerprint: FileFingerprint; leaves: Buffer }> {
  const hashedAt = Date.now();
  const opened = await openRegularFile(path, inode && ((stats) => stats.dev === inode.dev && stats.ino === inode.ino));
  if (!opened.ok) {
    if (opened.problem === "changed") throw new PeerError("changed", `${path} is now another file than the one registered (replaced, or a symlink pointed elsewhere)`);
    if (opened.problem === "missing") throw new PeerError("missing", `no such file: ${path}`);
    if (opened.problem === "denied") throw new PeerError("unreadable", `permission denied: ${path}`);
    if (opened.problem === "not-a-file") throw new PeerError("not-a-file", `not a regular file: ${path}`);
    throw new PeerError("unreadable", `cannot open ${path}: ${opened.code}`);
  }
  const { handle, stats: stat } = opened;
  try {
    const leaves = await hashPieces(handle, stat.size);
    if (!Buffer.isBuffer(leaves)) {
      if (leaves.failed === "read") throw new PeerError("unreadable", `cannot read ${path}: ${errnoCode(leaves.error)}`);
      throw new PeerError("changed", `${path} changed while it was being read; try again`);
    }
    // Growing, or rewritten in place while it was read: the hashes may mix two versions.
    const after = await handle.stat();
    if (after.size !== stat.size || after.mtimeMs !== stat.mtimeMs || after.ctimeMs !== stat.ctimeMs) {
      throw new PeerError("changed", `${path} changed while it was being read; try again`);
    }
    return {
      fingerprint: {
        size: stat.size,
        root: rootHexOfLeaves(leaves),
        dev: stat.dev,
        ino: stat.ino,
        mtimeMs: stat.mtimeMs,
        ctimeMs: stat.ctimeMs,
        hashedAt,
      },
      leaves,
    };
  } finally {
    await handle.close().catch(() => {});
  }
}

export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  return (await hashFile(path)).fingerprint;
}

/** Same inode on the same device, and not modified since the fingerprint was taken. */
export function sameFile(
  a: FileFingerprint,
  b: { size: number; dev: number; ino: number; mtimeMs: number },
): boolean {
  return a.size === b.size && a.dev === b.dev && a.ino === b.ino && a.mtimeMs === b.mtimeMs;
}

/**
 * Whether a fingerprint still holds for the file now at its path without
 * reading it again: same file, no write since (ctime too), and not taken so
 * soon after a write that a later one could hide in the same tick.
 */
export function stillValid(fingerprint: FileFingerprint, now: { size: number; dev: number; ino: number; mtimeMs: number; ctimeMs: number }): boolean {
  const racy = Math.max(fingerprint.mtimeMs, fingerprint.ctimeMs) >= fingerprint.hashedAt - racyWindowMs(fingerprint);
  return !racy && sameFile(fingerprint, now) && fingerprint.ctimeMs === now.ctimeMs;
}
