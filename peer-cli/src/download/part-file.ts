/**
 * `<save>.part` and its state file `<save>.part.json`: pieces are written in
 * place, and the state remembers which piece map they belong to, so an
 * interrupted download can be checked and resumed. Only the download that
 * holds the save's lock (save-lock.ts) opens them.
 */
import { createHash } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { link, lstat, open, rename, rm, unlink, type FileHandle } from "node:fs/promises";
import { checkDigest, expectArray, expectInteger, parseJsonObject } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic-write.ts";
import { errnoCode } from "../files/errno.ts";
import { racyWindowMs } from "../files/fingerprint.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { sideFile } from "../files/side-file.ts";
import { readSmallFile } from "../files/read-small-file.ts";
import { pieceMapOf, type PieceMap } from "./piece-map.ts";
import { writeFailure } from "./write-failure.ts";

/** 2: the map is named by its content root. 1 (whole-file SHA-256) is read back by its hashes alone. */
const STATE_VERSION = 2;

export const partPathOf = (save: string): string => sideFile(save, ".part");
export const statePathOf = (save: string): string => sideFile(save, ".part.json");

/** Never through a symlink planted at the part file's name, never a FIFO's blocking open. */
const PART_FLAGS = constants.O_RDWR | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** Written bytes flushed in the background every this many, so the final sync is short. */
const SYNC_EVERY_BYTES = 32 * 1024 * 1024;

/** A part state is the piece hashes of one file: far below this. */
const MAX_STATE_BYTES = 256 * 1024 * 1024;

/**
 * The piece map an earlier, interrupted download of `save` was using, if its
 * state file is intact. Nothing in it is trusted: its root is recomputed from
 * its hashes, so it is only used if that gives the registered root (which is
 * how a state from before content roots is taken over), and every piece on
 * disk is hashed again before it counts. Never read through a symlink or
 * from a FIFO planted at its name.
 */
export async function readPartState(save: string): Promise<PieceMap | null> {
  try {
    const text = await readSmallFile(statePathOf(save), MAX_STATE_BYTES);
    if (text === undefined) return null;
    const state = parseJsonObject(text, "a part state");
    if (state.version !== STATE_VERSION && state.version !== 1) return null;
    const size = expectInteger(state, "size", 0, Number.MAX_SAFE_INTEGER);
    const pieceSize = expectInteger(state, "pieceSize", 1, Number.MAX_SAFE_INTEGER);
    const hashes = expectArray(state, "hashes").map((h) => Buffer.from(checkDigest(h), "hex"));
    if (hashes.length !== Math.ceil(size / pieceSize)) return null;
    return pieceMapOf(size, pieceSize, hashes);
  } catch {
    return null;
  }
}

/**
 * Only a part file this user alone can write is resumed: one that another
 * user planted (or can write, or has a second name for) could be changed
 * under the download after its pieces were checked.
 */
function ours(info: Stats): boolean {
  const uid = process.getuid?.();
  return (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0 && info.nlink === 1;
}

/**
 * An existing part file to resume: a regular file of ours (not a symlink,
 * FIFO or device, nobody else able to write it), or null when there is none
 * or what is there must not be trusted.
 */
async function openOwnPart(path: string): Promise<FileHandle | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, PART_FLAGS);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" || code === "ELOOP" || code === "ENXIO" || code === "EACCES" || code === "EPERM") return null;
    throw writeFailure(error, path);
  }
  const info = await handle.stat();
  if (info.isFile() && ours(info)) return handle;
  await handle.close();
  return null;
}

/** Removes whatever is at a part file's name, or says plainly why it cannot. */
async function clear(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch (error) {
    const code = errnoCode(error);
    if (code === "EPERM" || code === "EACCES" || code === "EISDIR") {
      throw new PeerError(
        "exists",
        `${path} is in the way and cannot be removed (another user's file, or a folder): remove it, or save somewhere else`,
        EXIT.downloadFailed,
      );
    }
    throw writeFailure(error, path);
  }
}

export interface Resumed {
  part: PartFile;
  have: boolean[];
  resumedBytes: number;
}

export class PartFile {
  readonly save: string;
  readonly path: string;
  readonly map: PieceMap;
  private readonly handle: FileHandle;
  /** Bytes written since the last background flush, and that flush while it runs. */
  #unsynced = 0;
  #syncing: Promise<void> | undefined;

  private constructor(save: string, map: PieceMap, handle: FileHandle) {
    this.save = save;
    this.path = partPathOf(save);
    this.map = map;
    this.handle = handle;
  }

  /**
   * Takes up an interrupted download of the content registered as
   * (size, root): only if the saved map gives that root and the part file is
   * our own; every piece on disk is hashed again and only those that check
   * out count. Null when there is nothing to resume.
   */
  static async resume(save: string, expected: { size: number; root: string }): Promise<Resumed | null> {
    const map = await readPartState(save);
    if (!map || map.size !== expected.size || map.root !== expected.root) return null;
    const handle = await openOwnPart(partPathOf(save));
    if (!handle) return null;
    if ((await handle.stat()).size !== map.size) {
      await handle.close();
      return null;
    }
    const part = new PartFile(save, map, handle);
    const have = new Array<boolean>(map.hashes.length).fill(false);
    let resumedBytes = 0;
    for (let i = 0; i < map.hashes.length; i++) {
      const data = await part.readPiece(i);
      if (createHash("sha256").update(data).digest().equals(map.hashes[i] ?? Buffer.alloc(0))) {
        have[i] = true;
        resumedBytes += data.length;
      }
    }
    return { part, have, resumedBytes };
  }

  /** Starts `map`'s part file afresh, replacing whatever was at its name. */
  static async create(save: string, map: PieceMap): Promise<Resumed> {
    const path = partPathOf(save);
    await clear(path);
    try {
      await writeFileAtomic(
        statePathOf(save),
        JSON.stringify({ version: STATE_VERSION, size: map.size, root: map.root, pieceSize: map.pieceSize, hashes: map.hashes.map((h) => h.toString("hex")) }),
        0o644,
      );
      const handle = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
      await handle.truncate(map.size);
      return { part: new PartFile(save, map, handle), have: new Array<boolean>(map.hashes.length).fill(false), resumedBytes: 0 };
    } catch (error) {
      throw writeFailure(error, path);
    }
  }

  /** Bytes the part file already has on disk (it is sparse until pieces are written). */
  async allocatedBytes(): Promise<number> {
    const info = await this.handle.stat();
    return Math.min(this.map.size, info.blocks * 512);
  }

  pieceLength(index: number): number {
    return Math.min(this.map.pieceSize, this.map.size - index * this.map.pieceSize);
  }

  async writePiece(index: number, data: Buffer): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, index * this.map.pieceSize + written);
      written += bytesWritten;
    }
    this.#unsynced += written;
    // Flushed to disk as it goes, while the network is the limit, so the final sync has little left to do.
    if (this.#unsynced >= SYNC_EVERY_BYTES && this.#syncing === undefined) {
      this.#unsynced = 0;
      this.#syncing = this.handle.datasync().finally(() => (this.#syncing = undefined));
      this.#syncing.catch(() => {}); // a failure shows again at the final sync
    }
  }

  async readPiece(index: number): Promise<Buffer> {
    const length = this.pieceLength(index);
    const data = Buffer.allocUnsafe(length);
    let read = 0;
    while (read < length) {
      const { bytesRead } = await this.handle.read(data, read, length - read, index * this.map.pieceSize + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return data.subarray(0, read);
  }

  /**
   * Moves the verified file into place and describes exactly that file: the
   * one this download wrote and checked (every piece against a map that gives
   * its root), never whatever is at the path now.
   * Without `force` nothing already at `save` is ever replaced (a hard link
   * fails if the name is taken); with it, only a regular file is.
   */
  async complete(force: boolean): Promise<OfferedFile> {
    const { path, save } = this;
    let written;
    try {
      await this.#syncing?.catch(() => {});
      await this.handle.sync();
      written = await this.handle.stat();
    } catch (error) {
      await this.handle.close().catch(() => {});
      throw writeFailure(error, path, `the verified pieces are kept in ${path}: run the same download again to resume`);
    }
    await this.handle.close();
    const current = await lstat(path).catch(() => null);
    if (!current || current.ino !== written.ino || current.dev !== written.dev) {
      throw new PeerError("corrupt", `${path} was replaced while the download wrote it; nothing was saved`, EXIT.downloadFailed);
    }
    await place(path, save, force);
    let placed = await lstat(save);
    // Recorded as checked only once the clock has passed the file's last tick, so a restart need not hash it again.
    const settle = Math.max(placed.mtimeMs, placed.ctimeMs) + racyWindowMs(placed) + 1 - Date.now();
    if (settle > 0) {
      await new Promise((resolve) => setTimeout(resolve, settle));
      placed = await lstat(save);
    }
    const hashedAt = Date.now();
    if (placed.ino !== written.ino || placed.dev !== written.dev || placed.size !== this.map.size || placed.mtimeMs !== written.mtimeMs) {
      throw new PeerError("corrupt", `${save} changed right after it was saved; it is not registered`, EXIT.downloadFailed);
    }
    await rm(statePathOf(save), { force: true });
    return {
      path: save,
      size: this.map.size,
      root: this.map.root,
      dev: placed.dev,
      ino: placed.ino,
      mtimeMs: placed.mtimeMs,
      ctimeMs: placed.ctimeMs,
      hashedAt,
    };
  }

  /** Keeps what was verified for a later resume. */
  async suspend(): Promise<void> {
    await this.#syncing?.catch(() => {});
    await this.handle.sync().catch(() => {});
    await this.handle.close().catch(() => {});
  }

  async discard(): Promise<void> {
    await this.#syncing?.catch(() => {});
    await this.handle.close().catch(() => {});
    await rm(partPathOf(this.save), { force: true });
    await rm(statePathOf(this.save), { force: true });
  }
}

async function place(part: string, save: string, force: boolean): Promise<void> {
  const existing = await lstat(save).catch(() => null);
  const kept = `the verified file is kept as ${part}`;
  if (existing && !force) {
    throw new PeerError("exists", `${save} appeared while downloading; ${kept} (use --force to replace ${save})`, EXIT.downloadFailed);
  }
  if (existing && !existing.isFile()) {
    throw new PeerError("exists", `${save} became a ${kindOf(existing)} while downloading; only a regular file is ever replaced; ${kept}`, EXIT.downloadFailed);
  }
  try {
    if (force) await rename(part, save);
    else {
      await linkOrRename(part, save);
    }
  } catch (error) {
    if (errnoCode(error) === "EEXIST") {
      throw new PeerError("exists", `${save} appeared while downloading; ${kept} (use --force to replace ${save})`, EXIT.downloadFailed);
    }
    throw writeFailure(error, save, kept);
  }
}

/**
 * A hard link never replaces an existing name. Where file systems have no
 * links, the name is first claimed with an exclusive create (which fails if
 * it is taken) and the part renamed over that claim of ours.
 */
async function linkOrRename(part: string, save: string): Promise<void> {
  try {
    await link(part, save);
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV") throw error;
    const claim = await open(save, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0), 0o644);
    await claim.close();
    await rename(part, save);
    return;
  }
  await unlink(part);
}

export function kindOf(info: { isDirectory(): boolean; isSymbolicLink(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (info.isDirectory()) return "directory";
  if (info.isSymbolicLink()) return "symlink";
  if (info.isFIFO()) return "FIFO";
  if (info.isSocket()) return "socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "device";
  return "special file";
}
