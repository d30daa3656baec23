/**
 * One download per save path at a time, across processes and through any
 * symlinked folder: `<save>.part.lock` is created exclusively in the save's
 * folder (one physical file, however the folder is reached) and names the
 * owning process. The loser fails at once. A lock whose process on this
 * machine is gone is taken over.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rm } from "node:fs/promises";
import { hostname } from "node:os";
import { parseJsonObject } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import { errnoCode } from "../files/errno.ts";
import { sideFile } from "../files/side-file.ts";
import { writeFailure } from "./write-failure.ts";

export interface SaveLock {
  readonly path: string;
  release(): Promise<void>;
}

interface Owner {
  pid: number;
  host: string;
  token: string;
}

export const lockPathOf = (save: string): string => sideFile(save, ".part.lock");

/** Takes the lock for `save`, or fails with `locked` (exit 5) naming who holds it. */
export async function lockSave(save: string): Promise<SaveLock> {
  const path = lockPathOf(save);
  const me: Owner = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex") };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(path, "wx", 0o600);
      held.add(me.token);
      try {
        await handle.writeFile(JSON.stringify(me));
      } catch (error) {
        await rm(path, { force: true });
        held.delete(me.token);
        throw error;
      } finally {
        await handle.close();
      }
      return { path, release: () => releaseIfOurs(path, me.token) };
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw writeFailure(error, path);
    }
    const holder = await readOwner(path);
    if (attempt === 0 && holder !== undefined && isStale(holder)) {
      // Removed only if it still names the dead process; then the exclusive create decides again.
      await releaseIfOurs(path, holder.token);
      continue;
    }
    const who = holder === undefined ? "another download" : holder.pid === process.pid && holder.host === me.host ? "another download of this peer" : `process ${holder.pid} on ${holder.host}`;
    throw new PeerError(
      "locked",
      `a download to ${save} is already running (${who} holds ${path}); wait for it to finish, or remove the lock file if no download is running`,
      EXIT.downloadFailed,
    );
  }
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const value = parseJsonObject(await readFile(path, "utf8"), "a lock file");
    if (typeof value.pid === "number" && typeof value.host === "string" && typeof value.token === "string") {
      return { pid: value.pid, host: value.host, token: value.token };
    }
  } catch {
    // Being written right now, or unreadable: treat as held.
  }
  return undefined;
}

/** Held by a process of this machine that no longer exists. */
function isStale(owner: Owner): boolean {
  if (owner.host !== hostname() || !Number.isSafeInteger(owner.pid) || owner.pid <= 0) return false;
  if (owner.pid === process.pid) return !held.has(owner.token);
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return errnoCode(error) === "ESRCH";
  }
}

/** Tokens of the locks this process holds. */
const held = new Set<string>();

async function releaseIfOurs(path: string, token: string): Promise<void> {
  const owner = await readOwner(path);
  if (owner?.token === token) await rm(path, { force: true });
  held.delete(token);
}
