/**
 * One download per save path at a time, across processes and through any
 * symlinked folder: `<save>.part.lock` is a lock file in the save's folder
 * (one physical file, however the folder is reached). The second download
 * fails at once, naming who holds it.
 */
import { EXIT, PeerError } from "../errors.ts";
import { sideFile } from "../files/side-file.ts";
import { takeLock, type HeldLock } from "../files/pid-lock.ts";
import { writeFailure } from "./write-failure.ts";

export const lockPathOf = (save: string): string => sideFile(save, ".part.lock");

/** Takes the lock for `save`, or fails with `locked` (exit 5) naming who holds it. */
export async function lockSave(save: string): Promise<HeldLock> {
  const path = lockPathOf(save);
  let attempt;
  try {
    attempt = await takeLock(path);
  } catch (error) {
    throw writeFailure(error, path);
  }
  if ("held" in attempt) return attempt.held;
  const holder = attempt.holder;
  const who = holder === undefined ? "another download" : holder.pid === process.pid ? "another download of this peer" : `process ${holder.pid} on ${holder.host}`;
  throw new PeerError(
    "locked",
    `a download to ${save} is already running (${who} holds ${path}); wait for it to finish, or remove the lock file if no download is running`,
    EXIT.downloadFailed,
  );
}
