/**
 * Sync across shards: the hub's global version and change log reach a peer
 * on any shard as CHANGED notices (with their change set) and sync answers,
 * so a copy kept from a snapshot and change sets equals the gathered
 * listings; idle pings cost no shard a wake-up; a shard evicted with its
 * sockets kept goes on as before, and one restarted leaves no ghost in any
 * view or any peer's copy.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { PROTOCOL_VERSION, parseVersion, pingFor, pongFor, type ChangeSet } from "@p2p/shared";
import { afterEach, describe, expect, it } from "vitest";
import { file } from "../tracker-socket.ts";
import {
  SHARDS,
  apiFiles,
  apiUsers,
  closeAll,
  nameOn,
  names,
  peer,
  settledCopy,
  shardOf,
  shardStub,
  stats,
  sync,
  until,
  update,
  usersIn,
  type Copy,
  type TrackerSocket,
} from "./shards.ts";

afterEach(closeAll);

interface Notice {
  v: string;
  from?: string;
  changes?: ChangeSet;
}
const noticesOf = (socket: TrackerSocket): Notice[] => socket.noticeTexts.map((text) => JSON.parse(text) as Notice);

/** Keeps a copy current from notices alone where they carry changes from the copy's version, pulling otherwise. */
async function followNotices(socket: TrackerSocket, copy: Copy, seen: number): Promise<{ copy: Copy; seen: number; applied: number }> {
  let applied = 0;
  for (const notice of noticesOf(socket).slice(seen)) {
    seen++;
    if (notice.changes !== undefined && notice.from === copy.version) {
      copy.catalog.apply(notice.changes);
      copy = { catalog: copy.catalog, version: notice.v };
      applied++;
    } else if (notice.v !== copy.version) copy = await update(socket, copy);
  }
  return { copy, seen, applied };
}

const sameListing = async (socket: TrackerSocket, copy: Copy): Promise<boolean> =>
  JSON.stringify(copy.catalog.fileList()) === JSON.stringify((await socket.ok("list-files", {})).files) &&
  JSON.stringify(copy.catalog.userList()) === JSON.stringify((await socket.ok("list-users", {})).users);

describe("notices across shards", () => {
  it("a peer on one shard that asked sync is told, with the changes, of a register on another, and its copy then equals the listings", async () => {
    const watcher = await peer(nameOn(0, "watch-"));
    let copy = await settledCopy(watcher, null);
    let seen = watcher.noticeTexts.length;

    const user = nameOn(2, "notice-");
    expect(shardOf(user)).not.toBe(0);
    const registrant = await peer(user, 4321);
    await registrant.ok("register", { user, files: [file("/n1"), file("/n2", 20)] });

    await until(
      async () => noticesOf(watcher),
      (notices) => notices.some((n) => n.changes?.users.some((u) => u.user === user)),
      "a notice carrying the register on shard 2",
      10_000,
    );
    const notice = noticesOf(watcher).find((n) => n.changes?.users.some((u) => u.user === user))!;
    expect(notice.changes).toMatchObject({ users: [{ user, port: 4321 }], files: [{ user, path: "/n1" }, { user, path: "/n2", size: 20 }], goneUsers: [], goneFiles: [] });

    // Notices alone bring the copy up to date.
    let applied = 0;
    await until(
      async () => {
        const followed = await followNotices(watcher, copy, seen);
        ({ copy, seen } = followed);
        applied += followed.applied;
        return sameListing(watcher, copy);
      },
      Boolean,
      "the copy to follow the notices",
      10_000,
    );
    expect(applied).toBeGreaterThan(0);
    expect(names(copy.catalog.userList())).toContain(user);
    // And the version it was told is current: sync says so.
    expect(await sync(watcher, copy.version)).toEqual({ version: copy.version, unchanged: true });
  });

  it("a sync from an old version gets the hub's change set, which every shard answers alike", async () => {
    const watchers = await Promise.all(Array.from({ length: SHARDS }, (_, i) => peer(nameOn(i, "alike-"))));
    const before = (await sync(watchers[0]!)).version;
    const users = [nameOn(1, "chg-"), nameOn(3, "chg-")];
    for (const user of users) await (await peer(user)).ok("register", { user, files: [file(`/${user}`)] });
    // Each shard answers from the broadcasts it was sent (or the hub, for older versions): once both registers were broadcast, all alike.
    const answers = await until(
      () => Promise.all(watchers.map((w) => sync(w, before))),
      (all) => all.every((answer) => "changes" in answer && users.every((user) => names(answer.changes.users).includes(user))),
      "every shard's answer to bring both newcomers",
    );
    for (const answer of answers) {
      if (!("changes" in answer)) throw new Error(`expected changes, got ${JSON.stringify(answer)}`);
      expect(answer).toEqual(answers[0]);
    }
    // A version from another epoch, or ahead of the log, gets a snapshot of every shard.
    const { epoch, seq } = parseVersion(before);
    const ahead = await sync(watchers[2]!, `${epoch}-${seq + 1_000_000}`);
    if (!("snapshot" in ahead)) throw new Error("expected a snapshot");
    expect(names(ahead.snapshot.users)).toEqual(expect.arrayContaining(users));
  });
});

describe("coalesced notices", () => {
  // One object folds the change set since the version it last told from its log, however many changes a notice
  // coalesces. A shard folds the change sets of the broadcasts it was sent since (recent-changes.ts), so a notice that
  // covers two broadcasts (any two changes within the 1 s notice interval: all the time under churn) still carries them.
  it("a notice that covers two broadcasts still carries the change set from the version last told", async () => {
    const watcher = await peer(nameOn(0, "coal-w-"));
    let copy = await settledCopy(watcher, null);
    const a = nameOn(2, "coal-a-");
    await (await peer(a)).ok("register", { user: a, files: [file("/a")] });
    await until(async () => noticesOf(watcher), (ns) => ns.some((n) => n.changes?.users.some((u) => u.user === a)), "the notice of the first register");
    copy = await settledCopy(watcher, copy);
    const seen = watcher.noticeTexts.length;
    // Two registers on two shards, far enough apart for two broadcasts, within the second that the next notice waits.
    const b = nameOn(1, "coal-b-");
    await (await peer(b)).ok("register", { user: b, files: [file("/b")] });
    // The second register's broadcast has reached the shards (the version they tell moved) before the third.
    await until(stats, (s) => s.version !== copy.version, "the second register's broadcast");
    const c = nameOn(3, "coal-c-");
    await (await peer(c)).ok("register", { user: c, files: [file("/c")] });
    // Every notice since carries its change set, and together they bring both newcomers.
    const since = await until(
      async () => noticesOf(watcher).slice(seen),
      (ns) => ns.some((n) => n.changes?.users.some((u) => u.user === c)),
      "a notice naming the third newcomer",
      5000,
    );
    for (const notice of since) expect(notice.changes, `notice ${JSON.stringify(notice)}`).toBeDefined();
    expect(since.flatMap((n) => n.changes!.users.map((u) => u.user))).toEqual(expect.arrayContaining([b, c]));
  }, 15_000);
});

describe("sync (property)", () => {
  const SLOTS = 4;
  const PATHS = ["/a", "/b", "/c"];
  const op = fc.oneof(
    fc.record({
      op: fc.constant("register" as const),
      slot: fc.nat(SLOTS - 1),
      files: fc.array(fc.record({ path: fc.constantFrom(...PATHS), root: fc.constantFrom("1", "2") }), { maxLength: 3 }),
    }),
    fc.record({ op: fc.constant("unregister" as const), slot: fc.nat(SLOTS - 1), paths: fc.subarray(PATHS, { minLength: 1 }) }),
    fc.record({ op: fc.constant("leave" as const), slot: fc.nat(SLOTS - 1) }),
    fc.record({ op: fc.constant("move" as const), slot: fc.nat(SLOTS - 1), port: fc.integer({ min: 7000, max: 7002 }) }),
    fc.record({ op: fc.constant("sync" as const), copy: fc.nat(1) }),
    fc.record({ op: fc.constant("pause" as const) }),
  );

  let run = 0;
  it("copies on two shards, made from a snapshot and then change sets only, equal the gathered listings after changes on several shards", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 20 }), fc.nat(SHARDS - 1), async (ops, watcherShard) => {
        run++;
        const generation = Array(SLOTS).fill(0);
        // Slot i's names live on shard i: four shards change.
        const name = (slot: number) => nameOn(slot, `sp${run}-${slot}-${generation[slot]}-`);
        const sockets: (TrackerSocket | null)[] = Array(SLOTS).fill(null);
        const socketOf = async (slot: number) => (sockets[slot] ??= await peer(name(slot), 7000));
        // Two watchers: one on a random shard, one on the next.
        const watchers = [await peer(nameOn(watcherShard, `w${run}-`)), await peer(nameOn((watcherShard + 1) % SHARDS, `w${run}-`))];
        const copies: Copy[] = [await update(watchers[0]!, null), await update(watchers[1]!, null)];
        for (const step of ops) {
          switch (step.op) {
            case "register":
              await (await socketOf(step.slot)).ok("register", { user: name(step.slot), files: step.files.map((f) => file(f.path, 1, f.root)) });
              break;
            case "unregister":
              await (await socketOf(step.slot)).request("unregister", { user: name(step.slot), paths: step.paths });
              break;
            case "leave":
              if (sockets[step.slot]) {
                await sockets[step.slot]!.close();
                sockets[step.slot] = null;
                generation[step.slot]++;
              }
              break;
            case "move":
              await (await socketOf(step.slot)).ok("hello", { port: step.port, protocol: PROTOCOL_VERSION });
              break;
            case "sync":
              copies[step.copy] = await update(watchers[step.copy]!, copies[step.copy]!);
              break;
            case "pause":
              // Long enough for a publish and a broadcast to pass between changes.
              await new Promise((resolve) => setTimeout(resolve, 60));
              break;
          }
        }
        for (const [i, copy] of copies.entries()) {
          const settled = await settledCopy(watchers[i]!, copy);
          expect(settled.catalog.fileList()).toEqual(await apiFiles());
        }
        await closeAll();
      }),
      { numRuns: 25 },
    );
  }, 180_000);
});

describe("idle pings", () => {
  it("with the version the last notice told are answered by the runtime, never waking an evicted shard", async () => {
    const watcherShard = 1;
    const watcher = await peer(nameOn(watcherShard, "idle-"));
    const first = await sync(watcher);
    const user = nameOn(3, "idle-reg-");
    await (await peer(user)).ok("register", { user, files: [file("/i")] });
    // Quiet: the last notice told the version sync answers with, which holds the register (notices may coalesce with earlier tests' closes).
    const told = await until(
      async () => {
        const told = watcher.notices.at(-1);
        return { told, now: told === undefined ? null : await sync(watcher, told) };
      },
      ({ told, now }) => told !== first.version && now !== null && "unchanged" in now,
      "the last notice to tell the current version",
      10_000,
    ).then((x) => x.told!);
    expect(names((await watcher.ok("list-users", {})).users)).toContain(user);

    await evictDurableObject(shardStub(watcherShard));
    watcher.ws.send(pingFor(told));
    expect(await watcher.next()).toBe(pongFor(told));
    // Nothing ran in the shard, so there is nothing to evict.
    await expect(evictDurableObject(shardStub(watcherShard))).rejects.toThrow(/not currently running/);

    // A stale ping wakes it once, and is answered with the told version.
    watcher.ws.send(pingFor(`${parseVersion(told).epoch}-0`));
    expect(await watcher.next()).toBe(pongFor(told));
    await evictDurableObject(shardStub(watcherShard));
  }, 20_000);
});

describe("evictions and restarts", () => {
  async function everyShard(prefix: string): Promise<{ users: string[]; sockets: TrackerSocket[] }> {
    const users: string[] = [];
    const sockets: TrackerSocket[] = [];
    for (let shard = 0; shard < SHARDS; shard++) {
      const user = nameOn(shard, prefix);
      const socket = await peer(user, 4500 + shard);
      await socket.ok("register", { user, files: [file(`/${user}/x`), file(`/${user}/y`)] });
      users.push(user);
      sockets.push(socket);
    }
    return { users, sockets };
  }

  it("one shard evicted with its sockets kept: everything is still listed, and its peers and watchers go on working", async () => {
    const { users, sockets } = await everyShard("evict-");
    const watcherElsewhere = await peer(nameOn(0, "evw-"));
    const watcherOnIt = await peer(nameOn(2, "evw-"));
    let copies = [await settledCopy(watcherElsewhere, null), await settledCopy(watcherOnIt, null)];
    const listed = await apiFiles();

    await evictDurableObject(shardStub(2));
    const toldBefore = watcherOnIt.notices.length;

    expect(await apiFiles()).toEqual(listed);
    expect(names(await apiUsers())).toEqual([...users].sort());
    expect(await usersIn(2)).toEqual([users[2]]);
    expect((await watcherOnIt.ok("list-files", {})).files).toEqual(listed);
    // The evicted shard's peer still holds its name and adds files; a new user registers there; a change on another shard reaches its watcher.
    await sockets[2]!.ok("register", { user: users[2]!, files: [file(`/${users[2]}/z`)] });
    const newcomer = nameOn(2, "evict-new-");
    await (await peer(newcomer)).ok("register", { user: newcomer, files: [file("/new")] });
    expect(await (await peer(users[2])).request("register", { user: users[2]!, files: [] })).toMatchObject({ ok: false, error: { code: "name-taken" } });
    await sockets[1]!.ok("register", { user: users[1]!, files: [file(`/${users[1]}/w`)] });
    await until(async () => watcherOnIt.notices.length, (n) => n > toldBefore, "a notice on the evicted shard's watcher");
    copies = [await settledCopy(watcherElsewhere, copies[0]!), await settledCopy(watcherOnIt, copies[1]!)];
    for (const copy of copies) {
      expect(names(copy.catalog.userList())).toEqual([...users, newcomer].sort());
      expect(copy.catalog.fileList()).toEqual(await apiFiles());
    }
    expect(await stats()).toMatchObject({ users: 5, files: 11 });
  });

  it("a restart that lost the shard's last writes leaves no ghost either: the hub logs every user the shard had as gone", async () => {
    const { users } = await everyShard("lost-");
    const watcher = await peer(nameOn(1, "lsw-"));
    let copy = await settledCopy(watcher, null);
    expect(names(copy.catalog.userList())).toContain(users[2]);
    // A crash that lost shard 2's last batch: its storage no longer holds the user the hub and the peers know.
    await runInDurableObject(shardStub(2), (_instance, state) => {
      state.storage.sql.exec("DELETE FROM files WHERE user = ?", users[2]!);
      state.storage.sql.exec("DELETE FROM users WHERE user = ?", users[2]!);
    });
    await evictDurableObject(shardStub(2), { webSockets: "close" });

    await until(apiUsers, (listed) => !names(listed).includes(users[2]!), "the lost user to leave /api/users");
    copy = await settledCopy(watcher, copy);
    expect(names(copy.catalog.userList())).toEqual(users.filter((_, i) => i !== 2).sort());
    expect(copy.catalog.fileList().some((f) => f.user === users[2])).toBe(false);
  });

  it("one shard restarted: its users leave every view and every peer's copy on the other shards, the others stay, and its peers can come back", async () => {
    const { users, sockets } = await everyShard("restart-");
    const second = nameOn(2, "restart-b-");
    await (await peer(second)).ok("register", { user: second, files: [file("/second")] });
    const watcher = await peer(nameOn(0, "rsw-"));
    let copy = await settledCopy(watcher, null);
    expect(names(copy.catalog.userList())).toEqual(expect.arrayContaining([users[2], second]));
    const seen = watcher.noticeTexts.length;

    // A restart of shard 2: memory and sockets gone, storage kept.
    await evictDurableObject(shardStub(2), { webSockets: "close" });
    const gone = [users[2]!, second];
    const staying = users.filter((u) => !gone.includes(u));

    await until(apiUsers, (listed) => !names(listed).some((u) => gone.includes(u)), "the restarted shard's users to leave /api/users");
    expect(names(await apiUsers())).toEqual(expect.arrayContaining(staying));
    expect((await apiFiles()).some((f) => gone.includes(f.user))).toBe(false);
    expect((await watcher.ok("list-files", {})).files.some((f: { user: string }) => gone.includes(f.user))).toBe(false);
    expect(await stats()).toMatchObject({ users: staying.length, files: staying.length * 2 });
    expect(await usersIn(2)).toEqual([]);

    // The watcher is told, and its copy holds no ghost.
    await until(async () => noticesOf(watcher).slice(seen), (ns) => ns.some((n) => n.v !== copy.version), "a notice of the restart");
    copy = await settledCopy(watcher, copy);
    expect(names(copy.catalog.userList())).toEqual(expect.arrayContaining(staying));
    expect(names(copy.catalog.userList()).some((u) => gone.includes(u))).toBe(false);
    expect(copy.catalog.fileList().some((f) => gone.includes(f.user))).toBe(false);
    // The others' sockets still work.
    expect(sockets[2]!.closed || (await until(async () => sockets[2]!.closed, Boolean, "shard 2's socket to close"))).toBe(true);
    await sockets[3]!.ok("register", { user: users[3]!, files: [file("/after-restart")] });

    // A peer of shard 2 reconnects and registers again, and the copy hears of it.
    const back = await peer(users[2]!);
    await back.ok("register", { user: users[2]!, files: [file("/back")] });
    copy = await settledCopy(watcher, copy);
    expect(names(copy.catalog.userList())).toContain(users[2]);
    expect(copy.catalog.fileList().filter((f) => f.user === users[2]).map((f) => f.path)).toEqual(["/back"]);
    expect(await usersIn(2)).toEqual([users[2]]);
  });
});

