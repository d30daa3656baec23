/**
 * Opens a file to read it, for registering (fingerprinting) and for serving
 * (the mini-server): never blocks on a FIFO or device, accepts only a regular
 * file, optionally only the one that was registered, and says plainly why
 * not. Checks are made on the open handle, not the path, so a file swapped in
 * after the check cannot change what is read.
 */
import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { errnoCode } from "./errno.ts";

/**
 * O_NONBLOCK so that a FIFO (or other special file) answers at once and is
 * then rejected by fstat, instead of blocking a libuv thread until a writer
 * shows up. It has no effect on regular files and does not exist on Windows.
 */
const OPEN_READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

export type OpenedFile = { ok: true; handle: FileHandle; stats: Stats };

export type OpenFailure = {
  ok: false;
  /**
   * missing: no such file (or a folder on the way is gone); denied: no
   * permission; not-a-file: a folder, FIFO, device…; changed: not the file
   * `expected` accepts; unreadable: any other failure, named by `code`.
   */
  problem: "missing" | "denied" | "not-a-file" | "changed" | "unreadable";
  code: string;
};

/**
 * The open handle and its fstat, or why it cannot be read. With `expected`,
 * a regular file it refuses is reported as `changed`. On success the caller
 * owns the handle and must close it.
 */
export async function openRegularFile(path: string, expected?: (stats: Stats) => boolean): Promise<OpenedFile | OpenFailure> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_READ_FLAGS);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return { ok: false, problem: "missing", code };
    if (code === "EACCES" || code === "EPERM") return { ok: false, problem: "denied", code };
    if (code === "EISDIR") return { ok: false, problem: "not-a-file", code };
    return { ok: false, problem: "unreadable", code };
  }
  let failure: OpenFailure;
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) failure = { ok: false, problem: "not-a-file", code: "EINVAL" };
    else if (expected !== undefined && !expected(stats)) failure = { ok: false, problem: "changed", code: "ESTALE" };
    else return { ok: true, handle, stats };
  } catch (error) {
    failure = { ok: false, problem: "unreadable", code: errnoCode(error) };
  }
  await handle.close().catch(() => {});
  return failure;
}
