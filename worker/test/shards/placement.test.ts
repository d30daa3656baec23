/**
 * Where users live with four shards, and what a peer sees of it: a socket
 * opened with ?user=<name> is on the name's shard and registers it there; a
 * register from another shard's socket is refused with wrong-shard and
 * leaves no trace; names race on their own shard only; a close drops the
 * user everywhere at once.
 */
import { file } from "../tracker-socket.ts";
import { afterEach, describe, expect, it } from "vitest";
import { apiFiles, apiUsers, closeAll, nameOn, names, peer, shardOf, stats, until, usersIn, SHARDS } from "./shards.ts";

afterEach(closeAll);

describe("placement", () => {
  it("the test's hash agrees with the tracker's placement: these four names are on four shards", () => {
    expect([shardOf("Alice"), shardOf("Bob"), shardOf("Eve"), shardOf("Frank")]).toEqual([3, 0, 2, 1]);
  });

  it("a socket opened with ?user=X registers X, and X lives in the object of X's shard only", async () => {
    const people = ["Alice", "Bob", "Eve", "Frank"];
    for (const user of people) {
      const socket = await peer(user);
      expect(await socket.ok("register", { user, files: [file(`/${user}/a`)] })).toMatchObject({ user, added: 1 });
    }
    for (let i = 0; i < SHARDS; i++) {
      expect(await usersIn(i)).toEqual(people.filter((p) => shardOf(p) === i));
    }
    expect(names(await apiUsers())).toEqual(["Alice", "Bob", "Eve", "Frank"]);
    expect((await apiFiles()).map((f) => `${f.user}${f.path}`)).toEqual(people.map((p) => `${p}/${p}/a`));
  });

  it("a register from another shard's socket gets wrong-shard naming the name's shard, and nothing of the name is listed", async () => {
    // Bob's socket is on shard 0; Alice belongs to shard 3.
    const onBobs = await peer("Bob");
    const refused = await onBobs.request("register", { user: "Alice", files: [file("/wrong")] });
    expect(refused).toMatchObject({ ok: false, error: { code: "wrong-shard" } });
    if (refused.ok) throw new Error("unreachable");
    expect(refused.error.message).toContain("shard 3");
    expect(refused.error.message).toContain("(0)");
    expect(refused.error.message).toContain("?user=Alice");

    // Another name on a third shard, from a socket opened with yet another user's name.
    const onFranks = await peer("Frank");
    expect(await onFranks.request("register", { user: "Eve", files: [] })).toMatchObject({ ok: false, error: { code: "wrong-shard", message: expect.stringContaining("shard 2") } });

    for (let i = 0; i < SHARDS; i++) expect(await usersIn(i)).toEqual([]);
    expect(await apiUsers()).toEqual([]);
    expect(await apiFiles()).toEqual([]);
    expect((await onBobs.ok("list-files", {})).files).toEqual([]);
    expect((await onFranks.ok("list-users", {})).users).toEqual([]);
    expect(await stats()).toMatchObject({ users: 0, files: 0 });

    // The socket is still good for its own shard's names.
    const bobsName = nameOn(0, "bob-own-");
    expect(await onBobs.ok("register", { user: bobsName, files: [file("/b")] })).toMatchObject({ user: bobsName });
    expect(await usersIn(0)).toEqual([bobsName]);
  });

  it("a socket opened without a user lands on any shard: it registers the names of that shard and gets wrong-shard for the others", async () => {
    const seen = new Set<number>();
    // Random placement: enough sockets that two shards are all but certain to come up (1 − 4·(1/4)^12).
    for (let round = 0; round < 12; round++) {
      const socket = await peer();
      const candidates = Array.from({ length: SHARDS }, (_, i) => nameOn(i, `anon-${round}-`));
      const outcomes = [];
      for (const user of candidates) outcomes.push(await socket.request("register", { user, files: [] }));
      // Exactly one name was at home; once registered, the socket is that user (name-mismatch for the next ones is no placement).
      const home = outcomes.findIndex((reply) => reply.ok);
      expect(home).toBeGreaterThanOrEqual(0);
      seen.add(home);
      for (let i = 0; i < home; i++) {
        expect(outcomes[i]).toMatchObject({ ok: false, error: { code: "wrong-shard", message: expect.stringContaining(`shard ${i}`) } });
      }
      expect(await usersIn(home)).toContain(candidates[home]);
      await socket.close();
      await until(apiUsers, (users) => !names(users).includes(candidates[home]!), "the anonymous socket's user to leave");
    }
    expect(seen.size).toBeGreaterThan(1);
  });
});

describe("name races", () => {
  it("on the name's shard the second register gets name-taken until the first leaves; from another shard, never", async () => {
    expect(shardOf("Same")).toBe(3);
    const first = await peer("Same");
    const second = await peer("Same", 4100);
    const elsewhere = await peer("Bob");

    expect(await first.ok("register", { user: "Same", files: [file("/first")] })).toMatchObject({ user: "Same" });
    expect(await second.request("register", { user: "Same", files: [file("/second")] })).toMatchObject({ ok: false, error: { code: "name-taken" } });
    expect(await elsewhere.request("register", { user: "Same", files: [file("/elsewhere")] })).toMatchObject({ ok: false, error: { code: "wrong-shard" } });

    await first.close();
    // Once shard 3 has seen the close, the second takes the name; the one on shard 0 still cannot, at any time.
    const taken = await until(
      async () => {
        expect(await elsewhere.request("register", { user: "Same", files: [file("/elsewhere")] })).toMatchObject({ ok: false, error: { code: "wrong-shard" } });
        return second.request("register", { user: "Same", files: [file("/second")] });
      },
      (reply) => reply.ok || reply.error.code !== "name-taken",
      "the first socket's close",
    );
    expect(taken).toMatchObject({ ok: true, result: { user: "Same" } });
    expect(await elsewhere.request("register", { user: "Same", files: [] })).toMatchObject({ ok: false, error: { code: "wrong-shard" } });

    expect(await usersIn(3)).toEqual(["Same"]);
    expect(await usersIn(0)).toEqual([]);
    expect(await apiUsers()).toMatchObject([{ user: "Same", port: 4100 }]);
    expect((await apiFiles()).map((f) => f.path)).toEqual(["/second"]);
  });

  it("two sockets racing for a free name on its shard: exactly one wins", async () => {
    const name = nameOn(2, "race-");
    const a = await peer(name);
    const b = await peer(name, 4200);
    const [ra, rb] = await Promise.all([a.request("register", { user: name, files: [file("/a")] }), b.request("register", { user: name, files: [file("/b")] })]);
    expect([ra.ok, rb.ok].filter(Boolean)).toHaveLength(1);
    const loser = ra.ok ? rb : ra;
    expect(loser).toMatchObject({ ok: false, error: { code: "name-taken" } });
    expect(await usersIn(2)).toEqual([name]);
    expect((await apiFiles()).map((f) => f.path)).toEqual([ra.ok ? "/a" : "/b"]);
  });
});

describe("a closed socket", () => {
  it("drops its user and files from every view at once: a socket on another shard, /api/files, /api/users, /api/stats", async () => {
    const carol = nameOn(2, "closer-");
    const stays = nameOn(1, "stayer-");
    const leaving = await peer(carol);
    await leaving.ok("register", { user: carol, files: [file("/c1", 5), file("/c2", 7)] });
    const staying = await peer(stays);
    await staying.ok("register", { user: stays, files: [file("/s1", 11)] });
    // A reader on shard 0, neither user's.
    const reader = await peer(nameOn(0, "reader-"));

    expect((await reader.ok("list-files", {})).files.map((f: { user: string }) => f.user)).toEqual([carol, carol, stays]);
    expect(await stats()).toMatchObject({ users: 2, files: 3, bytes: 23 });

    await leaving.close();
    await until(async () => (await reader.ok("list-files", {})).files as { user: string }[], (files) => !files.some((f) => f.user === carol), "the reader to stop listing the closed user");
    // The reader's shard read it from shard 2, which had already forgotten it: every other view agrees at once.
    expect((await reader.ok("list-files", {})).files).toMatchObject([{ user: stays, path: "/s1" }]);
    expect(names((await reader.ok("list-users", {})).users)).toEqual([stays]);
    expect((await reader.ok("list-files", { limit: 1 })).files).toMatchObject([{ user: stays }]);
    expect(await apiFiles()).toMatchObject([{ user: stays, path: "/s1" }]);
    expect(names(await apiUsers())).toEqual([stays]);
    expect(await stats()).toMatchObject({ users: 1, files: 1, bytes: 11 });
    expect(await usersIn(2)).toEqual([]);
  });
});

