/**
 * Re-checks offered files before they are offered again (on restart and on
 * every reconnect): a file deleted or no longer a regular file is dropped;
 * one that changed, or whose last hash was taken too close to a write to
 * rule one out, is hashed again. What is offered is always what is on disk.
 */
import { stat } from "node:fs/promises";
import { errorMessage } from "../errors.ts";
import { fingerprintFile, stillValid } from "../files/fingerprint.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { mapLimit } from "./batching.ts";

/** Files hashed at once. */
const HASH_CONCURRENCY = 4;

export type Recheck = { file: OfferedFile; rehashed: boolean } | { path: string; dropped: string };

export function recheckFiles(files: readonly OfferedFile[]): Promise<Recheck[]> {
  return mapLimit(files, HASH_CONCURRENCY, async (file): Promise<Recheck> => {
    const info = await stat(file.path).catch(() => null);
    if (!info) return { path: file.path, dropped: "it no longer exists" };
    if (info.isFile() && stillValid(file, info)) return { file, rehashed: false };
    try {
      return { file: { path: file.path, ...(await fingerprintFile(file.path)) }, rehashed: true };
    } catch (error) {
      return { path: file.path, dropped: errorMessage(error) };
    }
  });
}
