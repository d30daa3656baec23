/**
 * What the peer offers, kept in `<home>/state.json` so a restarted peer, or
 * one that lost the tracker, can offer the same files again. Entries are
 * only a hint: each file is checked again (and re-hashed if it may have
 * changed) before it is offered.
 */
import { readFile } from "node:fs/promises";
import { checkFileEntry, checkUserName, isObject, parseJsonObject } from "@p2p/shared";
import { writeFileAtomic } from "../files/atomic-write.ts";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";

export interface SavedState {
  user: string | null;
  files: OfferedFile[];
  /** Files saved by an older version (named by whole-file SHA-256): hashed again before they are offered, if still the same file. */
  stale: { path: string; dev: number; ino: number }[];
}

/** 3: files named by content root; 2 and 1 named them by whole-file SHA-256. */
const STATE_VERSION = 3;

const isNumber = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value >= 0;

/** One saved file, or null when it is malformed. */
function readEntry(entry: unknown): OfferedFile | null {
  if (!isObject(entry)) return null;
  try {
    const { dev, ino, mtimeMs, ctimeMs, hashedAt } = entry;
    if (!isNumber(dev) || !isNumber(ino) || !isNumber(mtimeMs) || !isNumber(ctimeMs) || !isNumber(hashedAt)) return null;
    return { ...checkFileEntry(entry), dev, ino, mtimeMs, ctimeMs, hashedAt };
  } catch {
    return null;
  }
}

/** The saved state, with anything malformed left out; null when there is none or it is unreadable. */
export async function loadState(file: string, log: (line: string) => void): Promise<SavedState | null> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") log(`ignoring ${file}: ${errnoCode(error)}`);
    return null;
  }
  try {
    const raw = parseJsonObject(text, file);
    const user = raw.user === null || raw.user === undefined ? null : checkUserName(raw.user);
    const entries = Array.isArray(raw.files) ? raw.files : [];
    if (raw.version !== STATE_VERSION) {
      // Nothing an older version computed is trusted: its paths are hashed again.
      const stale = entries.flatMap((entry) =>
        isObject(entry) && typeof entry.path === "string" && isNumber(entry.dev) && isNumber(entry.ino) ? [{ path: entry.path, dev: entry.dev, ino: entry.ino }] : [],
      );
      return { user, files: [], stale };
    }
    const files = entries.map(readEntry).filter((entry) => entry !== null);
    if (files.length < entries.length) log(`ignoring ${entries.length - files.length} malformed entries in ${file}`);
    return { user, files, stale: [] };
  } catch (error) {
    log(`ignoring ${file}: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

export function saveState(file: string, state: Omit<SavedState, "stale">): Promise<void> {
  return writeFileAtomic(file, JSON.stringify({ version: STATE_VERSION, ...state }));
}
