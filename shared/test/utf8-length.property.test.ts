/** utf8Length must agree with Node's own count for every string, lone surrogates included. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8Length } from "../src/index.ts";

/** Strings from these pieces, short and long: long ones take utf8Length's counting branch. */
const textOf = (piece: fc.Arbitrary<string>) =>
  fc.oneof(
    fc.array(piece, { maxLength: 40 }),
    fc.array(piece, { minLength: 400, maxLength: 3000 }),
  ).map((pieces) => pieces.join(""));

/** Any UTF-16 unit: pairs, lone surrogates and control characters all turn up. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
/** Surrogates and characters of every encoded width, so a miscounted lone surrogate cannot hide. */
const tricky = fc.constantFrom("\ud800", "\udbff", "\udc00", "\udfff", "😀", "€", "é", "a", "\u0000");

describe("utf8Length", () => {
  it("equals Buffer.byteLength for any string, short or long", () => {
    fc.assert(
      fc.property(fc.oneof(textOf(anyUnit), textOf(tricky), textOf(fc.string({ unit: "binary", maxLength: 3 }))), (text) => {
        expect(utf8Length(text)).toBe(Buffer.byteLength(text, "utf8"));
      }),
      { numRuns: 2000 },
    );
  });
});
