import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { OrderedHasher } from "../src/download/ordered-hasher.ts";
import { sha256 } from "./helpers.ts";


/** The hasher keeps 32 MiB worth of pieces in memory; with this nominal piece size that is only 4 pieces. */
const HUGE_PIECE = 16 * 1024 * 1024;

/** A file cut into `count` pieces of `pieceLength` bytes (the last one shorter). */
function makeFile(count: number, pieceLength: number): { data: Buffer; pieces: Buffer[] } {
  const data = randomBytes(count * pieceLength - Math.floor(pieceLength / 3));
  const pieces = Array.from({ length: count }, (_, i) => data.subarray(i * pieceLength, (i + 1) * pieceLength));
  return { data, pieces };
}

/** Feeds `order` to a hasher, then digests, reading any piece it lacks from `pieces`; returns the digest and the pieces read back. */
async function run(pieces: Buffer[], pieceSize: number, order: number[]): Promise<{ digest: string; readBack: number[] }> {
  const hasher = new OrderedHasher(pieces.length, pieceSize);
  for (const i of order) hasher.add(i, pieces[i]!);
  const readBack: number[] = [];
  const digest = await hasher.digest(async (i) => {
    readBack.push(i);
    return pieces[i]!;
  });
  return { digest, readBack };
}

function shuffled(count: number): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

const indices = (count: number): number[] => Array.from({ length: count }, (_, i) => i);

describe("OrderedHasher", () => {
  const count = 40;
  const pieceLength = 1000;
  const { data, pieces } = makeFile(count, pieceLength);

  it("hashes pieces added in order without reading any back", async () => {
    const { digest, readBack } = await run(pieces, pieceLength, indices(count));
    expect(digest).toBe(sha256(data));
    expect(readBack).toEqual([]);
  });

  it("hashes pieces added in reverse order", async () => {
    const { digest, readBack } = await run(pieces, pieceLength, indices(count).reverse());
    expect(digest).toBe(sha256(data));
    expect(readBack).toEqual([]);
  });

  it("hashes pieces added in random orders", async () => {
    for (let round = 0; round < 20; round++) {
      const order = shuffled(count);
      const { digest } = await run(pieces, pieceLength, order);
      expect(digest, `order ${order.join(",")}`).toBe(sha256(data));
    }
  });

  it("reads back pieces beyond its window and pieces never added", async () => {
    // A window of 4 pieces: 30, 9 and 39 are too far ahead when they arrive; 5, 6 and 10… are never added.
    const order = [30, 2, 0, 1, 3, 4, 8, 7, 9, 39];
    const { digest, readBack } = await run(pieces, HUGE_PIECE, order);
    expect(digest).toBe(sha256(data));
    expect(readBack).toEqual([5, 6, ...indices(count).slice(9)]);
  });

  it("hashes reversed and random orders that exceed its window", async () => {
    for (const order of [indices(count).reverse(), shuffled(count), shuffled(count), shuffled(count)]) {
      const { digest, readBack } = await run(pieces, HUGE_PIECE, order);
      expect(digest, `order ${order.join(",")}`).toBe(sha256(data));
      // Every piece is hashed exactly once: from memory or read back, in order.
      expect(readBack).toEqual([...new Set(readBack)].sort((a, b) => a - b));
    }
  });

  it("hashes a file whose pieces were all left on disk", async () => {
    const { digest, readBack } = await run(pieces, pieceLength, []);
    expect(digest).toBe(sha256(data));
    expect(readBack).toEqual(indices(count));
  });

  it("ignores a piece added twice, whether already hashed or still waiting", async () => {
    const hasher = new OrderedHasher(count, HUGE_PIECE);
    const garbage = (i: number): Buffer => Buffer.alloc(pieces[i]!.length, 0xee);
    hasher.add(0, pieces[0]!);
    hasher.add(0, garbage(0)); // already hashed
    hasher.add(2, pieces[2]!);
    hasher.add(2, garbage(2)); // waiting for piece 1
    hasher.add(1, pieces[1]!);
    hasher.add(1, garbage(1));
    hasher.add(2, garbage(2));
    for (let i = 3; i < count; i++) hasher.add(i, pieces[i]!);
    for (let i = 0; i < count; i++) hasher.add(i, garbage(i));

    expect(await hasher.digest(async () => Promise.reject(new Error("nothing should be read back")))).toBe(sha256(data));
  });

  it("hashes an empty file", async () => {
    expect(await new OrderedHasher(0, 256 * 1024).digest(async () => Buffer.alloc(0))).toBe(sha256(Buffer.alloc(0)));
  });
});
