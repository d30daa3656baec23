/**
 * Piece hashes kept on disk (`<home>/pieces/`), named by content: a file's
 * piece map is computed once when it is registered (or proved when it is
 * downloaded) and survives restarts, so serving it never needs another pass
 * over the file. Nothing read back is trusted: it must give the root it is
 * filed under.
 */
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { PIECE_HASH_BYTES, pieceCountFor, pieceSizeFor } from "@p2p/shared";
import { writeFileAtomic } from "./atomic-write.ts";
import { rootHexOfLeaves } from "./content-root.ts";

const NAME = /^([0-9a-f]{64})\.(\d+)\.leaves$/;

export class PieceStore {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #path(root: string, size: number): string {
    return join(this.#dir, `${root}.${size}.leaves`);
  }

  async put(root: string, size: number, leaves: Buffer): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.#path(root, size), leaves);
  }

  /** The piece hashes of (size, root), if kept and still giving that root. */
  async get(root: string, size: number): Promise<Buffer | undefined> {
    const leaves = await readFile(this.#path(root, size)).catch(() => undefined);
    if (leaves === undefined) return undefined;
    const count = pieceCountFor(size, pieceSizeFor(size));
    if (leaves.length !== count * PIECE_HASH_BYTES || rootHexOfLeaves(leaves) !== root) return undefined;
    return leaves;
  }

  /** Forgets the maps of content nobody offers any more. */
  async keepOnly(kept: readonly { root: string; size: number }[]): Promise<void> {
    const wanted = new Set(kept.map((k) => `${k.root}.${k.size}`));
    const names = await readdir(this.#dir).catch(() => []);
    for (const name of names) {
      const match = NAME.exec(name);
      if (!match || !wanted.has(`${match[1]}.${match[2]}`)) await rm(join(this.#dir, name), { force: true });
    }
  }
}
