import { MAX_FILES_PER_MESSAGE, MAX_FILES_PER_USER, MAX_PATH_BYTES, PING, PONG, PROTOCOL_VERSION } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, file, sha } from "./tracker-socket.ts";

describe("hello", () => {
  it("records the mini-server port and an advertised host", async () => {
    const peer = await TrackerSocket.open();
    expect(await peer.ok("hello", { port: 5000, protocol: PROTOCOL_VERSION })).toEqual({ host: "127.0.0.1", port: 5000, protocol: PROTOCOL_VERSION });
    expect(await peer.ok("hello", { port: 5001, host: "peer.example", protocol: PROTOCOL_VERSION })).toEqual({ host: "peer.example", port: 5001, protocol: PROTOCOL_VERSION });
    await peer.ok("register", { user: "hello-host", files: [file("/x")] });
    expect((await peer.ok("list-users", {})).users).toContainEqual(expect.objectContaining({ user: "hello-host", host: "peer.example", port: 5001 }));
    await peer.close();
  });

  it("refuses a bad port or host", async () => {
    const peer = await TrackerSocket.open();
    for (const body of [{ port: 0 }, { port: 70000 }, { port: 1.5 }, { port: 80, host: "bad host" }, { port: 80, host: "" }]) {
      const reply = await peer.request("hello", { protocol: PROTOCOL_VERSION, ...(body as { port: number }) });
      expect(reply).toMatchObject({ ok: false, error: { code: "invalid-address" } });
    }
    await peer.close();
  });

  it("tells a peer of the older protocol (files named by SHA-256) to upgrade, and lets it register nothing", async () => {
    const old = await TrackerSocket.open();
    const reply = await old.request("hello", { port: 4000 });
    expect(reply).toMatchObject({ ok: false, error: { code: "bad-message" } });
    expect(JSON.stringify(reply)).toContain("this tracker speaks protocol 2 (files named by their content root) and this peer speaks protocol 1: upgrade p2p-peer");
    const register = await old.request("register", { user: "old-peer", files: [{ path: "/a", size: 1, sha256: sha("a") }] as never });
    expect(register).toMatchObject({ ok: false });
    expect((await old.ok("list-users", {})).users).not.toContainEqual(expect.objectContaining({ user: "old-peer" }));
    await old.close();
  });
});

describe("register", () => {
  it("requires hello first", async () => {
    const peer = await TrackerSocket.open();
    const reply = await peer.request("register", { user: "no-hello", files: [file("/a")] });
    expect(reply).toMatchObject({ ok: false, error: { code: "hello-required" } });
    expect((await peer.ok("list-users", {})).users).not.toContainEqual(expect.objectContaining({ user: "no-hello" }));
    await peer.close();
  });

  it("adds files, then updates size and hash of a re-registered path", async () => {
    const peer = await TrackerSocket.hello();
    expect(await peer.ok("register", { user: "reg", files: [file("/a", 1, "a"), file("/b", 2, "b")] })).toEqual({
      user: "reg",
      added: 2,
      updated: 0,
      total: 2,
    });
    expect(await peer.ok("register", { user: "reg", files: [file("/b", 20, "c"), file("/c", 3, "c")] })).toEqual({
      user: "reg",
      added: 1,
      updated: 1,
      total: 3,
    });
    const mine = (await peer.ok("list-files", {})).files.filter((f: any) => f.user === "reg");
    expect(mine).toEqual([
      { user: "reg", path: "/a", size: 1, root: sha("a") },
      { user: "reg", path: "/b", size: 20, root: sha("c") },
      { user: "reg", path: "/c", size: 3, root: sha("c") },
    ]);
    await peer.close();
  });

  it("claims a name with an empty file list", async () => {
    const peer = await TrackerSocket.hello(4321);
    expect(await peer.ok("register", { user: "just-a-name", files: [] })).toEqual({ user: "just-a-name", added: 0, updated: 0, total: 0 });
    expect((await peer.ok("list-users", {})).users).toContainEqual(expect.objectContaining({ user: "just-a-name", host: "127.0.0.1", port: 4321 }));
    const other = await TrackerSocket.hello();
    expect(await other.request("register", { user: "just-a-name", files: [] })).toMatchObject({ error: { code: "name-taken" } });
    await peer.close();
    await other.close();
  });

  it("refuses a second name on the same connection", async () => {
    const peer = await TrackerSocket.hello();
    await peer.ok("register", { user: "first-name", files: [file("/a")] });
    const reply = await peer.request("register", { user: "second-name", files: [file("/b")] });
    expect(reply).toMatchObject({ ok: false, error: { code: "name-mismatch" } });
    const users = (await peer.ok("list-users", {})).users.map((u: any) => u.user);
    expect(users).toContain("first-name");
    expect(users).not.toContain("second-name");
    await peer.close();
  });

  it("refuses invalid names", async () => {
    const peer = await TrackerSocket.hello();
    for (const user of ["", "a b", "x".repeat(65), "Пешо", "a/b", 42]) {
      const reply = await peer.request("register", { user: user as string, files: [file("/a")] });
      expect(reply).toMatchObject({ ok: false, error: { code: "invalid-name" } });
    }
    expect(await peer.ok("register", { user: "A.b_c-9".padEnd(64, "z"), files: [file("/a")] })).toMatchObject({ added: 1 });
    await peer.close();
  });

  it("refuses relative, over-long and unprintable paths and malformed file entries", async () => {
    const peer = await TrackerSocket.hello();
    const bad = [
      [{ path: "relative/x", size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/a\u0000b", size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/a\nfake : line", size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/a\u001b]0;title\u0007", size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/a\u0085b", size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/a\udfffb", size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/" + "p".repeat(MAX_PATH_BYTES), size: 1, root: sha("a") }, "invalid-path"],
      [{ path: "/ok", size: -1, root: sha("a") }, "invalid-file"],
      [{ path: "/ok", size: 1, root: "ABC" }, "invalid-file"],
      [{ path: "/ok", size: 1, root: sha("A") }, "invalid-file"],
      ["/ok", "bad-message"],
    ] as const;
    for (const [entry, code] of bad) {
      const reply = await peer.request("register", { user: "paths", files: [file("/fine"), entry as never] });
      expect(reply).toMatchObject({ ok: false, error: { code } });
    }
    // Nothing from the refused messages was registered, not even the valid entries.
    const users = (await peer.ok("list-users", {})).users.map((u: any) => u.user);
    expect(users).not.toContain("paths");
    await peer.close();
  });

  it("limits files per message and per user", async () => {
    const peer = await TrackerSocket.hello();
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => file(`/f/${from + i}`));
    const tooMany = await peer.request("register", { user: "many", files: batch(0, MAX_FILES_PER_MESSAGE + 1) });
    expect(tooMany).toMatchObject({ ok: false, error: { code: "too-many-files" } });
    for (let i = 0; i < MAX_FILES_PER_USER; i += MAX_FILES_PER_MESSAGE) {
      await peer.ok("register", { user: "many", files: batch(i, MAX_FILES_PER_MESSAGE) });
    }
    // Re-registering known paths is fine at the limit; one more new path is not.
    expect(await peer.ok("register", { user: "many", files: batch(0, 10) })).toMatchObject({ total: MAX_FILES_PER_USER });
    const over = await peer.request("register", { user: "many", files: [file("/f/one-more")] });
    expect(over).toMatchObject({ ok: false, error: { code: "too-many-files" } });
    const mine = (await peer.ok("list-files", {})).files.filter((f: any) => f.user === "many");
    expect(mine).toHaveLength(MAX_FILES_PER_USER);
    await peer.close();
  });
});

describe("unregister", () => {
  it("removes listed paths and reports unknown ones", async () => {
    const peer = await TrackerSocket.hello();
    await peer.ok("register", { user: "unreg", files: [file("/a"), file("/b"), file("/c")] });
    expect(await peer.ok("unregister", { user: "unreg", paths: ["/a", "/zzz", "/c"] })).toEqual({
      user: "unreg",
      removed: ["/a", "/c"],
      unknown: ["/zzz"],
    });
    const paths = (await peer.ok("list-files", {})).files.filter((f: any) => f.user === "unreg").map((f: any) => f.path);
    expect(paths).toEqual(["/b"]);
    await peer.close();
  });

  it("refuses an unknown user and another connection's user", async () => {
    const owner = await TrackerSocket.hello();
    const other = await TrackerSocket.hello();
    await owner.ok("register", { user: "owner", files: [file("/a")] });
    expect(await other.request("unregister", { user: "nobody", paths: ["/a"] })).toMatchObject({
      ok: false,
      error: { code: "unknown-user" },
    });
    expect(await other.request("unregister", { user: "owner", paths: ["/a"] })).toMatchObject({
      ok: false,
      error: { code: "not-owner" },
    });
    expect((await owner.ok("list-files", {})).files).toContainEqual(expect.objectContaining({ user: "owner", path: "/a" }));
    await owner.close();
    await other.close();
  });
});

describe("listings", () => {
  it("sorts files by user, then path, and lists users with addresses", async () => {
    const zed = await TrackerSocket.hello(6001);
    const amy = await TrackerSocket.hello(6002);
    await zed.ok("register", { user: "sort-zed", files: [file("/b"), file("/a")] });
    await amy.ok("register", { user: "sort-amy", files: [file("/z"), file("/m")] });
    const listed = (await zed.ok("list-files", {})).files
      .filter((f: any) => f.user.startsWith("sort-"))
      .map((f: any) => `${f.user} : ${f.path}`);
    expect(listed).toEqual(["sort-amy : /m", "sort-amy : /z", "sort-zed : /a", "sort-zed : /b"]);
    const users = (await amy.ok("list-users", {})).users.filter((u: any) => u.user.startsWith("sort-"));
    expect(users).toEqual([
      expect.objectContaining({ user: "sort-amy", host: "127.0.0.1", port: 6002 }),
      expect.objectContaining({ user: "sort-zed", host: "127.0.0.1", port: 6001 }),
    ]);
    await zed.close();
    await amy.close();
  });
});

describe("keep-alive", () => {
  it("answers ping with pong", async () => {
    const peer = await TrackerSocket.open();
    peer.ws.send(PING);
    expect(await peer.next()).toBe(PONG);
    await peer.close();
  });
});
