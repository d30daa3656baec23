import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { chooseMap, type Candidate } from "../src/download/choose-map.ts";
import type { PieceMap } from "../src/download/piece-map.ts";

const PIECE = 256 * 1024;
const SIZE = 3 * PIECE + 10;
const SHA = "a".repeat(64);
const expected = { size: SIZE, sha256: SHA };

const hashOf = (text: string): Buffer => createHash("sha256").update(text).digest();

/** A piece map whose piece hashes are derived from `seed`; fresh buffers every call. */
function pieceMap(seed: string, overrides: Partial<PieceMap> = {}): PieceMap {
  return { size: SIZE, sha256: SHA, pieceSize: PIECE, hashes: [0, 1, 2, 3].map((i) => hashOf(`${seed}-${i}`)), ...overrides };
}

const candidate = (source: string, map: PieceMap): Candidate<string> => ({ source, map });

const DISAGREES = "its piece map disagrees with the other sources";
const OTHER_CONTENT = "offers different content than registered (size or SHA-256 differ)";

describe("chooseMap", () => {
  it("picks the map most sources agree on, naming the rest", () => {
    const chosen = chooseMap(
      [candidate("ana", pieceMap("odd")), candidate("bob", pieceMap("good")), candidate("cid", pieceMap("good")), candidate("dan", pieceMap("other"))],
      expected,
      null,
    );

    expect(chosen).toBeDefined();
    expect(chosen!.map).toEqual(pieceMap("good"));
    expect(chosen!.agree).toEqual(["bob", "cid"]);
    expect(chosen!.disagree).toEqual([
      { source: "ana", reason: DISAGREES },
      { source: "dan", reason: DISAGREES },
    ]);
  });

  it("refuses maps whose size or SHA-256 differ from the registered ones, even when they are the majority", () => {
    const chosen = chooseMap(
      [
        candidate("ana", pieceMap("big", { size: SIZE + 1 })),
        candidate("bob", pieceMap("good")),
        candidate("cid", pieceMap("big", { size: SIZE + 1 })),
        candidate("dan", pieceMap("other-sha", { sha256: "b".repeat(64) })),
      ],
      expected,
      null,
    );

    expect(chosen!.map).toEqual(pieceMap("good"));
    expect(chosen!.agree).toEqual(["bob"]);
    expect(chosen!.disagree).toEqual([
      { source: "ana", reason: OTHER_CONTENT },
      { source: "cid", reason: OTHER_CONTENT },
      { source: "dan", reason: OTHER_CONTENT },
    ]);
  });

  it("compares without a registered size and SHA-256 when none is known", () => {
    const chosen = chooseMap(
      [candidate("ana", pieceMap("x", { size: 5 })), candidate("bob", pieceMap("y", { size: 7 })), candidate("cid", pieceMap("y", { size: 7 }))],
      undefined,
      null,
    );

    expect(chosen!.map.size).toBe(7);
    expect(chosen!.agree).toEqual(["bob", "cid"]);
    expect(chosen!.disagree).toEqual([{ source: "ana", reason: DISAGREES }]);
  });

  it("prefers the earlier download's map on a tie", () => {
    const chosen = chooseMap([candidate("ana", pieceMap("first")), candidate("bob", pieceMap("resumed"))], expected, pieceMap("resumed"));

    expect(chosen!.map).toEqual(pieceMap("resumed"));
    expect(chosen!.agree).toEqual(["bob"]);
    expect(chosen!.disagree).toEqual([{ source: "ana", reason: DISAGREES }]);
  });

  it("still follows the majority over the earlier map", () => {
    const chosen = chooseMap(
      [candidate("ana", pieceMap("new")), candidate("bob", pieceMap("resumed")), candidate("cid", pieceMap("new"))],
      expected,
      pieceMap("resumed"),
    );

    expect(chosen!.map).toEqual(pieceMap("new"));
    expect(chosen!.agree).toEqual(["ana", "cid"]);
    expect(chosen!.disagree).toEqual([{ source: "bob", reason: DISAGREES }]);
  });

  it("ignores an earlier map no source offers, or one for other content", () => {
    const nobody = chooseMap([candidate("ana", pieceMap("first")), candidate("bob", pieceMap("second"))], expected, pieceMap("stale"));
    expect(nobody!.map).toEqual(pieceMap("first"));
    expect(nobody!.agree).toEqual(["ana"]);

    const otherContent = pieceMap("second", { sha256: "c".repeat(64) });
    const wrong = chooseMap([candidate("ana", pieceMap("first")), candidate("bob", pieceMap("second"))], expected, otherContent);
    expect(wrong!.map).toEqual(pieceMap("first"));
  });

  it("takes the first candidate's map on a tie without an earlier one", () => {
    const chosen = chooseMap([candidate("ana", pieceMap("first")), candidate("bob", pieceMap("second"))], expected, null);

    expect(chosen!.map).toEqual(pieceMap("first"));
    expect(chosen!.agree).toEqual(["ana"]);
    expect(chosen!.disagree).toEqual([{ source: "bob", reason: DISAGREES }]);
  });

  it("treats maps differing only in one piece hash as different", () => {
    const tweaked = pieceMap("good");
    tweaked.hashes[3] = hashOf("tweaked");
    const chosen = chooseMap([candidate("ana", tweaked), candidate("bob", pieceMap("good")), candidate("cid", pieceMap("good"))], expected, null);

    expect(chosen!.agree).toEqual(["bob", "cid"]);
    expect(chosen!.disagree).toEqual([{ source: "ana", reason: DISAGREES }]);
  });

  it("returns undefined when no candidate fits", () => {
    expect(chooseMap([], expected, null)).toBeUndefined();
    expect(chooseMap([], expected, pieceMap("resumed"))).toBeUndefined();
    expect(chooseMap([candidate("ana", pieceMap("x", { size: 1 })), candidate("bob", pieceMap("y", { sha256: "d".repeat(64) }))], expected, null)).toBeUndefined();
  });
});
