/**
 * Re-checks offered files before they are offered again (on restart and on
 * every reconnect). A path that now leads to another file (replaced, or a
 * symlink pointed elsewhere) is dropped, never re-hashed: someone who can
 * write the folder must not be able to make this peer serve a different,
 * perhaps private, file. The same file changed in place, or hashed too close
 * to a write to rule one out, is hashed again. A file gone is dropped.
 */
import { stat } from "node:fs/promises";
import { errorMessage } from "../errors.ts";
import { hashFile, stillValid, type SameInode } from "../files/fingerprint.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { mapLimit } from "./batching.ts";

/** Files hashed at once. */
const HASH_CONCURRENCY = 4;

/** A file still offered (with its piece hashes when it was hashed again), or why it is not. */
export type Recheck = { file: OfferedFile; leaves?: Buffer } | { path: string; dropped: string };

export function recheckFiles(files: readonly OfferedFile[]): Promise<Recheck[]> {
  return mapLimit(files, HASH_CONCURRENCY, async (file): Promise<Recheck> => {
    const info = await stat(file.path).catch(() => null);
    if (!info) return { path: file.path, dropped: "it no longer exists" };
    if (info.dev !== file.dev || info.ino !== file.ino) return { path: file.path, dropped: REPLACED };
    if (info.isFile() && stillValid(file, info)) return { file };
    return hashAgain(file.path, file);
  });
}

/** Hashes again files an older version saved (their hashes are not trusted), if each is still the same file. */
export function hashPaths(files: readonly ({ path: string } & SameInode)[]): Promise<Recheck[]> {
  return mapLimit(files, HASH_CONCURRENCY, (file) => hashAgain(file.path, file));
}

const REPLACED = "the path now leads to another file (replaced, or a symlink pointed elsewhere); register it again if that is meant";

async function hashAgain(path: string, inode: SameInode): Promise<Recheck> {
  try {
    const { fingerprint, leaves } = await hashFile(path, inode);
    return { file: { path, ...fingerprint }, leaves };
  } catch (error) {
    return { path, dropped: errorMessage(error) };
  }
}
