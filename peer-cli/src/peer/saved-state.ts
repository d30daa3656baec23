/**
 * What the peer offers, kept in `<home>/state.json` so a restarted peer, or
 * one that lost the tracker, can offer the same files again.
 */
import { readFile } from "node:fs/promises";
import { checkFileEntry, checkUserName } from "@p2p/shared";
import { writeFileAtomic } from "../files/atomic-write.ts";
import type { OfferedFile } from "../files/offered-files.ts";

export interface SavedState {
  user: string | null;
  files: OfferedFile[];
}

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0;

/** The saved state, with anything malformed left out; null when there is none. */
export async function loadState(file: string): Promise<SavedState | null> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, "utf8"));
  } catch {
    return null;
  }
  const raw = value as { user?: unknown; files?: unknown };
  let user: string | null = null;
  try {
    if (raw.user !== null && raw.user !== undefined) user = checkUserName(raw.user);
  } catch {
    return null;
  }
  const files = (Array.isArray(raw.files) ? raw.files : []).flatMap((entry: Record<string, unknown>) => {
    try {
      const { dev, ino, mtimeMs } = entry;
      if (!isCount(dev) || !isCount(ino) || !isCount(mtimeMs)) return [];
      return [{ ...checkFileEntry(entry), dev, ino, mtimeMs }];
    } catch {
      return [];
    }
  });
  return { user, files };
}

/** Writes are serialized and the last one wins, so the file never goes back in time. */
export class StateWriter {
  private readonly file: string;
  private chain: Promise<void> = Promise.resolve();

  constructor(file: string) {
    this.file = file;
  }

  save(state: SavedState): Promise<void> {
    const text = JSON.stringify({ version: 1, ...state });
    this.chain = this.chain.then(() => writeFileAtomic(this.file, text)).catch(() => {});
    return this.chain;
  }
}
