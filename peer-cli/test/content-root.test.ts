import { createHash, randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LEAF_BYTES, rootOfLeaves } from "../src/files/content-root.ts";

const sha = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash("sha256")).digest();
const node = (l: Buffer, r: Buffer) => sha(Buffer.from([1]), l, r);

describe("rootOfLeaves", () => {
  it("is SHA-256 of nothing for an empty file and the leaf itself for one piece", () => {
    expect(rootOfLeaves(Buffer.alloc(0))).toEqual(sha(Buffer.alloc(0)));
    const leaf = randomBytes(32);
    expect(rootOfLeaves(leaf)).toEqual(leaf);
  });

  it("pads to a power of two with zero leaves", () => {
    const [a, b, c] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const zero = Buffer.alloc(32);
    expect(rootOfLeaves(Buffer.concat([a, b]))).toEqual(node(a, b));
    expect(rootOfLeaves(Buffer.concat([a, b, c]))).toEqual(node(node(a, b), node(c, zero)));
    const five = [a, b, c, a, b];
    const z2 = node(zero, zero);
    expect(rootOfLeaves(Buffer.concat(five))).toEqual(node(node(node(a, b), node(c, a)), node(node(b, zero), z2)));
  });

  it("changes when any single bit of any leaf changes, or a leaf is added or dropped", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(7), (count, which, bit) => {
        const leaves = randomBytes(count * LEAF_BYTES);
        const root = rootOfLeaves(leaves);
        const flipped = Buffer.from(leaves);
        const at = which % flipped.length;
        flipped[at] = flipped[at]! ^ (1 << bit);
        expect(rootOfLeaves(flipped).equals(root)).toBe(false);
        // (A zero leaf added where padding stood gives the same root: the size, which fixes the count, is part of the identity.)
        expect(rootOfLeaves(Buffer.concat([leaves, randomBytes(LEAF_BYTES)])).equals(root)).toBe(false);
        if (count > 1) expect(rootOfLeaves(leaves.subarray(LEAF_BYTES)).equals(root)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a map that is not whole hashes", () => {
    expect(() => rootOfLeaves(Buffer.alloc(33))).toThrow(RangeError);
  });
});
