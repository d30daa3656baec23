/**
 * A file's content identity: the root of a SHA-256 hash tree over its
 * pieces (the idea of BitTorrent v2's "pieces root", BEP 52, written afresh).
 *
 *   leaf i   = SHA-256(piece i)                     (the piece map's entry)
 *   node     = SHA-256(0x01 ‖ left ‖ right)         (the prefix keeps nodes apart from leaves)
 *   padding  = 32 zero bytes, up to a power of two leaves
 *   root     = the single leaf when there is one piece (so a file of one
 *              piece has its plain SHA-256 as root), SHA-256 of nothing for
 *              an empty file
 *
 * The piece size is a fixed function of the file size (shared's
 * pieceSizeFor), so (size, root) names the content: a piece map whose tree
 * gives the registered root proves every piece hash in it, and a piece that
 * does not hash to its leaf proves its source lies. No vote between sources.
 */
import { createHash, hash } from "node:crypto";

export const LEAF_BYTES = 32;
const ZERO = Buffer.alloc(LEAF_BYTES);
const NODE_PREFIX = Buffer.from([0x01]);

function parent(left: Buffer<ArrayBufferLike>, right: Buffer<ArrayBufferLike>): Buffer<ArrayBufferLike> {
  return createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest();
}

/** The root of `leaves` (count × 32 bytes, in piece order), as a 32-byte digest. */
export function rootOfLeaves(leaves: Buffer): Buffer<ArrayBufferLike> {
  if (leaves.length % LEAF_BYTES !== 0) throw new RangeError(`a piece map is whole 32-byte hashes, got ${leaves.length} bytes`);
  const count = leaves.length / LEAF_BYTES;
  if (count === 0) return hash("sha256", Buffer.alloc(0), "buffer");
  let level: Buffer<ArrayBufferLike>[] = [];
  for (let i = 0; i < count; i++) level.push(leaves.subarray(i * LEAF_BYTES, (i + 1) * LEAF_BYTES));
  if (count === 1) return Buffer.from(level[0] ?? ZERO);
  let width = 1;
  while (width < count) width *= 2;
  // Padding subtrees are all alike: one hash per level stands for every one of them.
  let pad: Buffer<ArrayBufferLike> = ZERO;
  for (; width > 1; width /= 2) {
    const next: Buffer<ArrayBufferLike>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(parent(level[i] ?? pad, level[i + 1] ?? pad));
    level = next;
    pad = parent(pad, pad);
  }
  return level[0] ?? ZERO;
}

/** The root as it is registered and listed: 64 lowercase hex digits. */
export const rootHexOfLeaves = (leaves: Buffer): string => rootOfLeaves(leaves).toString("hex");
