/** A file's piece map as a source announces it, and the check that it is the registered content's. */
import { pieceCountFor, pieceSizeFor } from "@p2p/shared";
import { rootHexOfLeaves } from "../files/content-root.ts";

export interface PieceMap {
  size: number;
  /** The content root the map's own hashes give (never just what a source claimed). */
  root: string;
  pieceSize: number;
  /** 32-byte SHA-256 digests, one per piece. */
  hashes: Buffer[];
}

/** A map from its hashes, with the root computed from them. */
export function pieceMapOf(size: number, pieceSize: number, hashes: Buffer[]): PieceMap {
  return { size, pieceSize, hashes, root: rootHexOfLeaves(Buffer.concat(hashes)) };
}

/**
 * Why `map` is not the piece map of the content registered as (size, root),
 * or undefined when it is. A map that fails is proof its source lies (or
 * serves other content): its hashes cannot give that root.
 */
export function mapMismatch(map: PieceMap, expected: { size: number; root: string }): string | undefined {
  if (map.size !== expected.size) return `it serves ${map.size} bytes, not the registered ${expected.size}`;
  if (map.pieceSize !== pieceSizeFor(map.size) || map.hashes.length !== pieceCountFor(map.size, map.pieceSize)) {
    return "its piece map does not follow the piece rules";
  }
  if (map.root !== expected.root) return `its piece map does not give the registered root ${expected.root.slice(0, 16)}…: it lies about the content`;
  return undefined;
}

export const sameMap = (a: PieceMap, b: PieceMap): boolean =>
  a.size === b.size &&
  a.root === b.root &&
  a.pieceSize === b.pieceSize &&
  a.hashes.length === b.hashes.length &&
  a.hashes.every((hash, i) => hash.equals(b.hashes[i] ?? Buffer.alloc(0)));
