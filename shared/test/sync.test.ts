import { describe, expect, it } from "vitest";
import { Catalog, changedNotice, changedNoticeWith, isNewer, parsePush, parseVersion, pongFor, readResult, type ChangeSet } from "../src/index.ts";

const root = (c: string) => c.repeat(64);
const none: ChangeSet = { goneUsers: [], goneFiles: [], users: [], files: [] };

describe("versions", () => {
  it("compare within an epoch, and any other epoch counts as newer", () => {
    expect(parseVersion("ab12-40")).toEqual({ epoch: "ab12", seq: 40 });
    expect(isNewer("ab12-41", "ab12-40")).toBe(true);
    expect(isNewer("ab12-40", "ab12-40")).toBe(false);
    expect(isNewer("ab12-39", "ab12-40")).toBe(false);
    expect(isNewer("cd34-1", "ab12-40")).toBe(true);
    expect(isNewer("ab12-0", null)).toBe(true);
  });
});

describe("a catalog kept from change sets", () => {
  it("drops a departed user's files, then takes what it offered after coming back", () => {
    const catalog = new Catalog();
    catalog.addUsers([{ user: "a", host: "h", port: 1, reachable: null }]);
    catalog.addFiles([{ user: "a", path: "/old", size: 1, root: root("1") }]);
    const touched = catalog.apply({
      goneUsers: ["a"],
      goneFiles: [],
      users: [{ user: "a", host: "h2", port: 2, reachable: true }],
      files: [{ user: "a", path: "/new", size: 2, root: root("2") }],
    });
    expect(touched).toEqual({ users: true, files: true });
    expect(catalog.userList()).toEqual([{ user: "a", host: "h2", port: 2, reachable: true }]);
    expect(catalog.fileList()).toEqual([{ user: "a", path: "/new", size: 2, root: root("2") }]);
  });

  it("lists users and files in the tracker's order (by user, then path, by code unit)", () => {
    const catalog = new Catalog();
    catalog.addFiles([
      { user: "b", path: "/z", size: 1, root: root("1") },
      { user: "B", path: "/b", size: 1, root: root("1") },
      { user: "b", path: "/a", size: 1, root: root("1") },
    ]);
    expect(catalog.fileList().map((f) => `${f.user}:${f.path}`)).toEqual(["B:/b", "b:/a", "b:/z"]);
  });

  it("says which parts a change set touched", () => {
    const catalog = new Catalog();
    expect(catalog.apply(none)).toEqual({ users: false, files: false });
    expect(catalog.apply({ ...none, users: [{ user: "u", host: "h", port: 1, reachable: false }] })).toEqual({ users: true, files: false });
    expect(catalog.apply({ ...none, goneFiles: [{ user: "u", path: "/x" }] })).toEqual({ users: false, files: true });
  });
});

describe("sync results", () => {
  it("reads each of the three answers and refuses a malformed one", () => {
    expect(readResult("sync", { version: "e-1", unchanged: true })).toEqual({ version: "e-1", unchanged: true });
    expect(readResult("sync", { version: "e-2", changes: { goneUsers: ["x"], goneFiles: [], users: [], files: [] } })).toMatchObject({ changes: { goneUsers: ["x"] } });
    expect(readResult("sync", { version: "e-3", snapshot: { users: [], usersNext: null, files: [], filesNext: "abc" } })).toMatchObject({ snapshot: { filesNext: "abc" } });
    expect(() => readResult("sync", { version: "e-3" })).toThrow(/snapshot/);
    expect(() => readResult("sync", { version: "E 3", unchanged: true })).toThrow(/version/);
    expect(() => readResult("sync", { version: "e-2", changes: { goneUsers: ["bad name"], goneFiles: [], users: [], files: [] } })).toThrow(/user name/);
  });
});

describe("messages the tracker sends unasked", () => {
  it("reads pongs and notices, with or without their change set, and refuses anything else", () => {
    expect(parsePush('{"type":"pong"}')).toEqual({ type: "pong" });
    expect(parsePush(pongFor("e-4"))).toEqual({ type: "pong", v: "e-4" });
    expect(parsePush(changedNotice("e-5"))).toEqual({ type: "changed", v: "e-5" });
    expect(parsePush(changedNoticeWith("e-6", "e-4", JSON.stringify({ ...none, goneUsers: ["x"] })))).toEqual({
      type: "changed",
      v: "e-6",
      from: "e-4",
      changes: { ...none, goneUsers: ["x"] },
    });
    for (const bad of ['{"type":"shout"}', '{"type":"changed"}', '{"type":"pong","v":"?"}', changedNoticeWith("e-6", "bad", "{}"), "[]"]) {
      expect(() => parsePush(bad), bad).toThrow();
    }
  });
});
