/** A file's piece map: the SHA-256 of every piece, as a source announces it. */

export interface PieceMap {
  size: number;
  sha256: string;
  pieceSize: number;
  /** 32-byte SHA-256 digests, one per piece. */
  hashes: Buffer[];
}

export const sameMap = (a: PieceMap, b: PieceMap): boolean =>
  a.size === b.size &&
  a.sha256 === b.sha256 &&
  a.pieceSize === b.pieceSize &&
  a.hashes.length === b.hashes.length &&
  a.hashes.every((hash, i) => hash.equals(b.hashes[i] ?? Buffer.alloc(0)));
