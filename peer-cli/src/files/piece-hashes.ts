/**
 * One pass over a file: the SHA-256 of every piece, in order (the piece map,
 * and the leaves of the content root). Registering a file and a mini-server
 * rebuilding a map it no longer has in memory both read a file this way.
 */
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { PIECE_HASH_BYTES, pieceCountFor, pieceSizeFor } from "@p2p/shared";

/** Bytes read at a time; every piece size is a multiple of it. */
const READ_BYTES = 256 * 1024;

export type PieceHashFailure = { failed: "read"; error: unknown } | { failed: "short" };

/**
 * The piece hashes of the first `size` bytes of `handle`, or why not: a read
 * that failed, or a file that ended before `size` bytes.
 */
export async function hashPieces(handle: FileHandle, size: number): Promise<Buffer | PieceHashFailure> {
  const pieceSize = pieceSizeFor(size);
  const leaves = Buffer.alloc(pieceCountFor(size, pieceSize) * PIECE_HASH_BYTES);
  const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(size, 1)));
  let piece: Hash = createHash("sha256");
  let index = 0;
  let inPiece = 0;
  let position = 0;
  while (position < size) {
    // Never straddles a piece boundary: piece sizes are multiples of READ_BYTES.
    const want = Math.min(buffer.length, size - position, pieceSize - inPiece);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, want, position));
    } catch (error) {
      return { failed: "read", error };
    }
    if (bytesRead === 0) return { failed: "short" };
    piece.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
    inPiece += bytesRead;
    if (inPiece === pieceSize || position === size) {
      piece.digest().copy(leaves, index * PIECE_HASH_BYTES);
      index++;
      piece = createHash("sha256");
      inPiece = 0;
    }
  }
  return leaves;
}
