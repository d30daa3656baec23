import { describe, expect, it } from "vitest";
import { MAX_MESSAGE_BYTES, MAX_PATH_BYTES, parseRequest, utf8Length } from "../src/index.ts";

const sha = "0".repeat(64);
const req = (body: object) => JSON.stringify({ id: 1, ...body });

describe("parseRequest", () => {
  it("accepts every well-formed request type", () => {
    expect(parseRequest(req({ type: "hello", port: 1234, protocol: 2 }))).toEqual({ ok: true, request: { id: 1, type: "hello", port: 1234, protocol: 2 } });
    expect(parseRequest(req({ type: "hello", port: 1, host: "10.0.0.1", protocol: 2 }))).toMatchObject({ ok: true });
    expect(parseRequest(req({ type: "hello", port: 1234 }))).toMatchObject({ ok: false, error: { code: "bad-message" } });
    expect(parseRequest(req({ type: "register", user: "Pesho123", files: [{ path: "/a", size: 0, root: sha }] }))).toMatchObject({
      ok: true,
      request: { type: "register", user: "Pesho123", files: [{ path: "/a", size: 0, root: sha }] },
    });
    expect(parseRequest(req({ type: "unregister", user: "Gosho321", paths: ["C:\\data\\x.bin"] }))).toMatchObject({ ok: true });
    expect(parseRequest(req({ type: "list-files" }))).toMatchObject({ ok: true });
    expect(parseRequest(JSON.stringify({ id: "abc", type: "list-users" }))).toMatchObject({ ok: true, request: { id: "abc" } });
  });

  it("drops unknown extra fields of a command instead of passing them on", () => {
    const parsed = parseRequest(req({ type: "unregister", user: "a", paths: ["/a"], extra: { deep: true } }));
    expect(parsed).toEqual({ ok: true, request: { id: 1, type: "unregister", user: "a", paths: ["/a"] } });
  });

  it("refuses an unknown field of a query, which would otherwise list everything", () => {
    for (const body of [{ type: "list-files", usr: "P1" }, { type: "list-files", query: "x", lim: 1 }, { type: "list-users", limt: 1 }, { type: "sync", snce: "e-1" }]) {
      expect(parseRequest(req(body))).toMatchObject({ ok: false, error: { code: "bad-message", message: expect.stringContaining("unknown field") } });
    }
  });

  it("refuses a path filter with a lone surrogate, as paths are", () => {
    expect(parseRequest(req({ type: "list-files", q: "a\ud800b" }))).toMatchObject({ ok: false, error: { code: "invalid-filter" } });
    expect(parseRequest(req({ type: "list-files", q: "a\ud83d\ude00" }))).toMatchObject({ ok: true });
  });

  it.each([
    ["not JSON", "{", "bad-json"],
    ["not an object", "7", "bad-message"],
    ["a bad id", JSON.stringify({ id: { x: 1 }, type: "list-files" }), "bad-message"],
    ["an unknown type", req({ type: "teleport" }), "unknown-type"],
    ["a non-string type", req({ type: 5 }), "bad-message"],
    ["a bad name", req({ type: "register", user: "a b", files: [{ path: "/a", size: 0, root: sha }] }), "invalid-name"],
    ["a relative path", req({ type: "unregister", user: "u", paths: ["a/b"] }), "invalid-path"],
    ["a path with NUL", req({ type: "unregister", user: "u", paths: ["/a\u0000"] }), "invalid-path"],
    ["a path with a line break", req({ type: "unregister", user: "u", paths: ["/a\nb"] }), "invalid-path"],
    ["a path with an escape sequence", req({ type: "unregister", user: "u", paths: ["/a\u001b[2Jb"] }), "invalid-path"],
    ["a path with DEL", req({ type: "unregister", user: "u", paths: ["/a\u007f"] }), "invalid-path"],
    ["a path with a C1 control", req({ type: "unregister", user: "u", paths: ["/a\u009bb"] }), "invalid-path"],
    ["a path with a lone high surrogate", req({ type: "unregister", user: "u", paths: ["/a\ud800b"] }), "invalid-path"],
    ["a path with a lone low surrogate", req({ type: "unregister", user: "u", paths: ["/a\udc00"] }), "invalid-path"],
    ["an over-long path", req({ type: "unregister", user: "u", paths: ["/" + "é".repeat(MAX_PATH_BYTES / 2)] }), "invalid-path"],
    ["a fractional size", req({ type: "register", user: "u", files: [{ path: "/a", size: 1.5, root: sha }] }), "invalid-file"],
    ["too many files", req({ type: "unregister", user: "u", paths: Array.from({ length: 1001 }, (_, i) => `/${i}`) }), "too-many-files"],
    ["a port out of range", req({ type: "hello", port: 65536, protocol: 2 }), "invalid-address"],
  ])("refuses %s", (_name, raw, code) => {
    expect(parseRequest(raw)).toMatchObject({ ok: false, error: { code } });
  });

  it("measures the size in UTF-8 bytes, not characters", () => {
    const justOver = "é".repeat(MAX_MESSAGE_BYTES / 2); // 2 bytes each, plus quotes
    expect(parseRequest(JSON.stringify(justOver))).toMatchObject({ ok: false, error: { code: "too-large" } });
    const justUnder = "a".repeat(MAX_MESSAGE_BYTES - 2);
    expect(parseRequest(JSON.stringify(justUnder))).toMatchObject({ ok: false, error: { code: "bad-message" } });
  });

  it("counts UTF-8 bytes exactly", () => {
    for (const text of ["", "abc", "é", "€", "😀", "a😀é€".repeat(500), "\ud800x", "\ud800€".repeat(400), "\ud800\ud800\udc00".repeat(200)]) {
      expect(utf8Length(text)).toBe(Buffer.byteLength(text, "utf8"));
    }
  });

  it("is not fooled by lone surrogates into passing an oversized message", () => {
    // A lone high surrogate before a 3-byte character is 6 bytes; it was once counted as 4,
    // which let this 1.2 MB message pass for 0.8 MB. (JSON text may carry lone surrogates raw.)
    const message = `{"id":1,"type":"list-files","pad":"${"\ud800€".repeat(200_000)}"}`;
    expect(Buffer.byteLength(message)).toBeGreaterThan(MAX_MESSAGE_BYTES);
    expect(parseRequest(message)).toMatchObject({ ok: false, error: { code: "too-large" } });
  });

  it("accepts paths with printable non-ASCII characters", () => {
    for (const path of ["/музика/песен.mp3", "/😀/a b", "C:\\Users\\é€\\x", "/a\u00a0b"]) {
      expect(parseRequest(req({ type: "unregister", user: "u", paths: [path] }))).toMatchObject({ ok: true });
    }
  });
});
