import { describe, expect, it } from "vitest";
import { MAX_CURSOR_LENGTH, MAX_PAGE_LIMIT, MAX_PATH_BYTES, checkLimit, checkQuery, fileCursor, parseRequest, readFileCursor, readUserCursor, userCursor } from "../src/index.ts";

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return "accepted";
};

describe("cursors", () => {
  it("name a key and read back exactly, for any path the tracker accepts", () => {
    for (const path of ["/a", "/ä/日本/🎵.mp3", 'C:\\data\\"quoted".bin', `/${"x".repeat(MAX_PATH_BYTES - 1)}`]) {
      const cursor = fileCursor({ user: "Pesho123", path });
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(cursor.length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
      expect(readFileCursor(cursor)).toEqual({ user: "Pesho123", path });
    }
    expect(readUserCursor(userCursor("a.b-c_d"))).toBe("a.b-c_d");
  });

  it("refuses anything the tracker did not write with invalid-cursor", () => {
    const bad = [
      "",
      "not base64!",
      "eyJ", // truncated
      btoa("[1,2]"),
      btoa('["bad name","/a"]'),
      btoa('["u","relative"]'),
      btoa('["u","/a","extra"]'),
      userCursor("u"), // a users cursor where a files cursor belongs
      "A".repeat(MAX_CURSOR_LENGTH + 1),
    ];
    for (const cursor of bad) expect(code(() => readFileCursor(cursor)), cursor.slice(0, 20)).toBe("invalid-cursor");
    expect(code(() => readUserCursor(fileCursor({ user: "u", path: "/a" })))).toBe("invalid-cursor");
    expect(code(() => readFileCursor(42))).toBe("invalid-cursor");
  });
});

describe("page parameters", () => {
  it("takes limits from 1 to MAX_PAGE_LIMIT", () => {
    expect(checkLimit(1)).toBe(1);
    expect(checkLimit(MAX_PAGE_LIMIT)).toBe(MAX_PAGE_LIMIT);
    for (const limit of [0, -1, 1.5, MAX_PAGE_LIMIT + 1, "10", null]) expect(code(() => checkLimit(limit))).toBe("invalid-limit");
  });

  it("takes path filters of printable text", () => {
    expect(checkQuery("Song")).toBe("Song");
    for (const q of ["", "x".repeat(257), "a\nb", 5]) expect(code(() => checkQuery(q))).toBe("invalid-filter");
  });

  it("reads filters and paging in list-files, list-users and sync, each bad one with its code", () => {
    const root = "ab".repeat(32);
    const cursor = fileCursor({ user: "u", path: "/p" });
    expect(parseRequest(JSON.stringify({ id: 1, type: "list-files", user: "u", q: "mp3", root, limit: 10, cursor }))).toEqual({
      ok: true,
      request: { id: 1, type: "list-files", user: "u", q: "mp3", root, limit: 10, cursor },
    });
    expect(parseRequest(JSON.stringify({ id: 1, type: "list-users", limit: 5 }))).toEqual({ ok: true, request: { id: 1, type: "list-users", limit: 5 } });
    expect(parseRequest(JSON.stringify({ id: 1, type: "sync", since: "k3f9-12" }))).toEqual({ ok: true, request: { id: 1, type: "sync", since: "k3f9-12" } });
    expect(parseRequest(JSON.stringify({ id: 1, type: "sync" }))).toEqual({ ok: true, request: { id: 1, type: "sync" } });
    const refused = (body: object) => {
      const parsed = parseRequest(JSON.stringify({ id: 1, ...body }));
      return parsed.ok ? "accepted" : parsed.error.code;
    };
    expect(refused({ type: "list-files", user: "a b" })).toBe("invalid-name");
    expect(refused({ type: "list-files", root: "XYZ" })).toBe("invalid-file");
    expect(refused({ type: "list-files", q: "" })).toBe("invalid-filter");
    expect(refused({ type: "list-files", limit: MAX_PAGE_LIMIT + 1 })).toBe("invalid-limit");
    expect(refused({ type: "list-files", cursor: "%%%" })).toBe("invalid-cursor");
    expect(refused({ type: "list-users", cursor: cursor })).toBe("invalid-cursor");
    for (const since of ["", "12", "K3F9-1", "abc-01", "abc--1", "abc-1.5", 7, "a".repeat(17) + "-1", "abc-1234567890123456"]) {
      expect(refused({ type: "sync", since }), JSON.stringify(since)).toBe("invalid-version");
    }
  });
});
