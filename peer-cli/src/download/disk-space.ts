/**
 * Room for a download, checked before any byte is fetched: a download that
 * cannot fit fails at once (exit 5) instead of filling the disk with a
 * sparse part file and failing near the end.
 */
import { statfs } from "node:fs/promises";
import { EXIT, PeerError } from "../errors.ts";
import { formatBytes } from "../format-bytes.ts";

export async function ensureSpace(folder: string, needed: number, save: string): Promise<void> {
  if (needed <= 0) return;
  // Where statfs is not supported the write itself will still report a full disk clearly.
  const stats = await statfs(folder).catch(() => null);
  if (stats === null) return;
  const free = stats.bavail * stats.bsize;
  if (free < needed) {
    throw new PeerError(
      "no-space",
      `not enough space for ${save}: it needs ${formatBytes(needed)} more and ${folder} has ${formatBytes(free)} free; nothing was fetched`,
      EXIT.downloadFailed,
    );
  }
}
