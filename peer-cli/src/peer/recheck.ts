/**
 * Re-checks offered files before they are offered again (on restart and on
 * every reconnect): a file deleted or no longer a regular file is dropped;
 * one that changed, or whose last hash was taken too close to a write to
 * rule one out, is hashed again. What is offered is always what is on disk.
 */
import { stat } from "node:fs/promises";
import { errorMessage } from "../errors.ts";
import { hashFile, stillValid } from "../files/fingerprint.ts";
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
    if (info.isFile() && stillValid(file, info)) return { file };
    return hashAgain(file.path);
  });
}

/** Hashes every path afresh (files an older version saved, whose hashes are not trusted). */
export function hashPaths(paths: readonly string[]): Promise<Recheck[]> {
  return mapLimit(paths, HASH_CONCURRENCY, hashAgain);
}

async function hashAgain(path: string): Promise<Recheck> {
  try {
    const { fingerprint, leaves } = await hashFile(path);
    return { file: { path, ...fingerprint }, leaves };
  } catch (error) {
    return { path, dropped: errorMessage(error) };
  }
}
