/**
 * Readers see the old file or the new one, never half of either. Each write
 * gets a temp name of its own (unique across processes, and short, so it fits
 * the file system's name limit whatever the target is called), and writes to
 * one path from this process land in call order, so the last one wins.
 */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

const queues = new Map<string, Promise<void>>();

export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const previous = queues.get(path) ?? Promise.resolve();
  const write = previous.catch(() => {}).then(() => replace(path, data, mode));
  queues.set(path, write);
  const forget = () => {
    if (queues.get(path) === write) queues.delete(path);
  };
  write.then(forget, forget);
  return write;
}

async function replace(path: string, data: string | Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(path), `.p2p-${randomBytes(8).toString("hex")}.tmp`);
  // "wx": never follows or reuses anything already at the temp name.
  const handle = await open(temp, "wx", mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
