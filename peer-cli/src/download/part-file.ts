/**
 * `<save>.part` and its state file `<save>.part.json`: pieces are written in
 * place, and the state remembers which piece map they belong to, so an
 * interrupted download can be checked and resumed.
 */
import { createHash } from "node:crypto";
import { open, readFile, rename, rm, type FileHandle } from "node:fs/promises";
import { writeFileAtomic } from "../files/atomic-write.ts";
import type { PieceMap } from "./source-connection.ts";

const STATE_VERSION = 1;

interface PartState {
  version: typeof STATE_VERSION;
  size: number;
  sha256: string;
  pieceSize: number;
  hashes: string[];
}

export const partPathOf = (save: string) => `${save}.part`;
export const statePathOf = (save: string) => `${save}.part.json`;

/** The piece map an earlier, interrupted download of `save` was using, if any. */
export async function readPartState(save: string): Promise<PieceMap | null> {
  try {
    const state = JSON.parse(await readFile(statePathOf(save), "utf8")) as PartState;
    if (state.version !== STATE_VERSION || !Array.isArray(state.hashes)) return null;
    return { size: state.size, sha256: state.sha256, pieceSize: state.pieceSize, hashes: state.hashes.map((h) => Buffer.from(h, "hex")) };
  } catch {
    return null;
  }
}

export const sameMap = (a: PieceMap, b: PieceMap): boolean =>
  a.size === b.size &&
  a.sha256 === b.sha256 &&
  a.pieceSize === b.pieceSize &&
  a.hashes.length === b.hashes.length &&
  a.hashes.every((hash, i) => hash.equals(b.hashes[i]!));

export class PartFile {
  readonly save: string;
  readonly map: PieceMap;
  private readonly handle: FileHandle;

  private constructor(save: string, map: PieceMap, handle: FileHandle) {
    this.save = save;
    this.map = map;
    this.handle = handle;
  }

  /**
   * Opens the part file for `map`: reuses one left by an interrupted download
   * of the same content, else starts empty. `resumed` tells which pieces on
   * disk already check out (each re-hashed), in order, through `onVerified`.
   */
  static async open(
    save: string,
    map: PieceMap,
    onVerified: (index: number, data: Buffer) => void,
  ): Promise<{ part: PartFile; have: boolean[]; resumedBytes: number }> {
    const count = map.hashes.length;
    const have = new Array<boolean>(count).fill(false);
    const earlier = await readPartState(save);
    if (earlier && sameMap(earlier, map)) {
      const handle = await open(partPathOf(save), "r+").catch(() => null);
      if (handle && (await handle.stat()).size === map.size) {
        const part = new PartFile(save, map, handle);
        let resumedBytes = 0;
        for (let i = 0; i < count; i++) {
          const data = await part.readPiece(i);
          if (createHash("sha256").update(data).digest().equals(map.hashes[i]!)) {
            have[i] = true;
            resumedBytes += data.length;
            onVerified(i, data);
          }
        }
        return { part, have, resumedBytes };
      }
      await handle?.close();
    }
    await writeFileAtomic(
      statePathOf(save),
      JSON.stringify({ version: STATE_VERSION, size: map.size, sha256: map.sha256, pieceSize: map.pieceSize, hashes: map.hashes.map((h) => h.toString("hex")) } satisfies PartState),
    );
    const handle = await open(partPathOf(save), "w+");
    await handle.truncate(map.size);
    return { part: new PartFile(save, map, handle), have, resumedBytes: 0 };
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

  /** Moves the finished file into place; only a verified whole ever gets the final name. */
  async complete(): Promise<void> {
    await this.handle.sync();
    await this.handle.close();
    await rename(partPathOf(this.save), this.save);
    await rm(statePathOf(this.save), { force: true });
  }

  /** Keeps what was verified for a later resume. */
  async suspend(): Promise<void> {
    await this.handle.sync().catch(() => {});
    await this.handle.close().catch(() => {});
  }

  async discard(): Promise<void> {
    await this.handle.close().catch(() => {});
    await rm(partPathOf(this.save), { force: true });
    await rm(statePathOf(this.save), { force: true });
  }
}
