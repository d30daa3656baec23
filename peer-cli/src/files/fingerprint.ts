/** What a registered file looked like, so later reads can tell whether it is still the same file. */
import { createHash } from "node:crypto";
import { PeerError } from "../errors.ts";
import { errnoCode } from "./errno.ts";
import { openRegularFile } from "./open-regular.ts";

export interface FileFingerprint {
  size: number;
  sha256: string;
  dev: number;
  ino: number;
  mtimeMs: number;
  /** Changes with any write, even one that puts the old mtime back. */
  ctimeMs: number;
  /** When the content was hashed (ms since the epoch). */
  hashedAt: number;
}

/**
 * File times tick coarsely (a clock tick, up to seconds on some file systems),
 * so a write in the same tick as the hash leaves every time unchanged. A file
 * whose times are this close to its hash is re-hashed on the next check, as
 * git does with "racily clean" files.
 */
const RACY_WINDOW_MS = 2000;

const CHUNK_BYTES = 256 * 1024;

export async function fingerprintFile(path: string): Promise<FileFingerprint> {
  const hashedAt = Date.now();
  const opened = await openRegularFile(path);
  if (!opened.ok) {
    if (opened.problem === "missing") throw new PeerError("missing", `no such file: ${path}`);
    if (opened.problem === "denied") throw new PeerError("unreadable", `permission denied: ${path}`);
    if (opened.problem === "not-a-file") throw new PeerError("not-a-file", `not a regular file: ${path}`);
    throw new PeerError("unreadable", `cannot open ${path}: ${opened.code}`);
  }
  const { handle, stats: stat } = opened;
  try {
    const hash = createHash("sha256");
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    // Read one byte past the expected end: a file that keeps growing must not
    // keep us hashing forever, and the extra byte is enough to notice it.
    const limit = stat.size + 1;
    let read = 0;
    while (read < limit) {
      const { bytesRead } = await handle
        .read(buffer, 0, Math.min(buffer.length, limit - read), read)
        .catch((error: unknown) => {
          throw new PeerError("unreadable", `cannot read ${path}: ${errnoCode(error)}`);
        });
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      read += bytesRead;
    }

    // A same-size rewrite during hashing shows up only as a new mtime.
    const after = await handle.stat();
    if (read !== stat.size || after.size !== stat.size || after.mtimeMs !== stat.mtimeMs || after.ctimeMs !== stat.ctimeMs) {
      throw new PeerError("changed", `${path} changed while it was being read; try again`);
    }
    return {
      size: stat.size,
      sha256: hash.digest("hex"),
      dev: stat.dev,
      ino: stat.ino,
      mtimeMs: stat.mtimeMs,
      ctimeMs: stat.ctimeMs,
      hashedAt,
    };
  } finally {
    await handle.close().catch(() => {});
  }
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
  const racy = Math.max(fingerprint.mtimeMs, fingerprint.ctimeMs) >= fingerprint.hashedAt - RACY_WINDOW_MS;
  return !racy && sameFile(fingerprint, now) && fingerprint.ctimeMs === now.ctimeMs;
}
