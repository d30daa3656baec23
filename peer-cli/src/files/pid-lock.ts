/**
 * A lock held by one process, as a file naming it: created atomically (the
 * full content appears at once, by a hard link of a finished temp file, or
 * by an exclusive create where links are not supported), released by its
 * holder only. A lock whose process on this machine is gone is taken over:
 * it is first moved aside (only one taker can move it), then checked to be
 * the dead one, so two takers never both end up holding the lock.
 */
import { randomBytes } from "node:crypto";
import { link, open, rename, rm, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, join } from "node:path";
import { parseJsonObject } from "@p2p/shared";
import { errnoCode } from "./errno.ts";
import { readSmallFile } from "./read-small-file.ts";

export interface LockOwner {
  pid: number;
  host: string;
  token: string;
}

export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** The lock, or who holds it (undefined when the holder cannot be read). */
export type LockAttempt = { held: HeldLock } | { holder: LockOwner | undefined };

/** How long a lock taken over must stay ours before it counts. */
const SETTLE_MS = 50;

/** Tokens of the locks this process holds, to tell its own live locks from ones a crash left. */
const held = new Set<string>();

export async function takeLock(path: string): Promise<LockAttempt> {
  const me: LockOwner = { pid: process.pid, host: hostname(), token: randomBytes(12).toString("hex") };
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await create(path, me)) {
      held.add(me.token);
      // After a takeover, another taker may still be moving "the stale lock" aside: ours,
      // by then. Such moves take microseconds; a lock that is still ours a moment later stays ours.
      if (attempt > 0) {
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        const now = await readOwner(path);
        if (now?.token !== me.token) {
          held.delete(me.token);
          return { holder: now };
        }
      }
      return { held: { path, release: () => release(path, me.token) } };
    }
    const holder = await readOwner(path);
    if (holder === undefined || !isStale(holder)) return { holder };
    await takeOver(path, holder);
  }
  return { holder: await readOwner(path) };
}

/** True when `path` now holds `owner`; false when a lock is already there. Other failures throw. */
async function create(path: string, owner: LockOwner): Promise<boolean> {
  const text = JSON.stringify(owner);
  const temp = join(dirname(path), `.p2p-${randomBytes(8).toString("hex")}.tmp`);
  await writeFile(temp, text, { flag: "wx", mode: 0o600 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    const code = errnoCode(error);
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP") throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
  // No hard links here: an exclusive create, with a moment where the file is still empty (read as "held").
  try {
    const handle = await open(path, "wx", 0o600);
    try {
      await handle.writeFile(text);
    } finally {
      await handle.close();
    }
    return true;
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return false;
    throw error;
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const text = await readSmallFile(path, 4096);
    if (text === undefined) return undefined;
    const value = parseJsonObject(text, "a lock file");
    if (typeof value.pid === "number" && typeof value.host === "string" && typeof value.token === "string") {
      return { pid: value.pid, host: value.host, token: value.token };
    }
  } catch {
    // Being written right now, or not a lock at all: treat as held.
  }
  return undefined;
}

/** Held by a process of this machine that no longer exists (or by this process, from before). */
function isStale(owner: LockOwner): boolean {
  if (owner.host !== hostname() || !Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  if (owner.pid === process.pid) return !held.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return errnoCode(error) === "ESRCH";
  }
}

async function takeOver(path: string, stale: LockOwner): Promise<void> {
  const aside = join(dirname(path), `.p2p-${randomBytes(8).toString("hex")}.stale`);
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return; // another taker moved it first
    throw error;
  }
  const moved = await readOwner(aside);
  if (moved?.token !== stale.token) {
    // A live lock was created meanwhile and we moved it: put it back (unless yet another is there).
    await link(aside, path).catch(() => {});
  }
  await rm(aside, { force: true });
}

async function release(path: string, token: string): Promise<void> {
  held.delete(token);
  if ((await readOwner(path))?.token === token) await rm(path, { force: true });
}
