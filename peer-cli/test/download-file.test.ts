/**
 * One whole download against real mini-servers and real files: who may write
 * the part file, what --force may replace, a frozen holder beside a healthy
 * source, and a disk that refuses the bytes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import net from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { pieceSizeFor, type FileListing, type UserAddress } from "@p2p/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { downloadFile, sourcesFor, type DownloadRequest, type KnownUser, type SourceDirectory } from "../src/download/download-file.ts";
import { partPathOf } from "../src/download/part-file.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { recheckFiles } from "../src/peer/recheck.ts";
import type { MiniServerOptions } from "../src/mini-server/server.ts";
import { startFakeSource, type FakeSourceAnswers } from "./fake-source.ts";
import { peerError, rootOf, sha256, useSocketFixture } from "./helpers.ts";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;

const fixture = useSocketFixture("p2p-download-");
const { cleanups, tempPath, serve, offer } = fixture;

interface Holder {
  user: string;
  port: number;
  path: string;
}

/** `data` offered by one mini-server per entry of `holders`. */
async function holdersOf(data: Buffer, holders: Array<{ user: string; options?: Partial<MiniServerOptions> }>): Promise<Holder[]> {
  return Promise.all(
    holders.map(async ({ user, options }) => {
      const files = new OfferedFiles();
      const path = await offer(files, `${user}.bin`, data);
      const server = await serve(files, options);
      return { user, port: server.port, path };
    }),
  );
}

function directoryOf(data: Buffer, holders: readonly Holder[]): SourceDirectory {
  const users: UserAddress[] = holders.map((h) => ({ user: h.user, host: HOST, port: h.port }));
  const listings: FileListing[] = holders.map((h) => ({ user: h.user, path: h.path, size: data.length, root: rootOf(data) }));
  return {
    lookup: (user) => {
      const found = users.find((u) => u.user === user);
      if (!found) throw new Error(`unknown user ${user}`);
      return found;
    },
    find: (user) => users.find((u) => u.user === user),
    listing: (user, path) => listings.find((l) => l.user === user && l.path === path),
    holders: (root, size) => listings.filter((l) => l.root === root && l.size === size),
  };
}

const request = (holder: Holder, save: string, extra: Partial<DownloadRequest> = {}): DownloadRequest => ({
  user: holder.user,
  path: holder.path,
  save,
  force: false,
  singleSource: false,
  self: "Me",
  ...extra,
});

/** TCP sockets this process has open right now. */
const openSockets = () => process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;

describe("the part file belongs to one download", () => {
  it("refuses a second download to the same file reached through a symlinked folder, which then saves exactly the source's bytes", async () => {
    const data = randomBytes(4 * MiB);
    const [slow] = await holdersOf(data, [{ user: "Slow", options: { throttleBytesPerSecond: 4 * MiB } }]);
    const directory = directoryOf(data, [slow!]);
    const real = tempPath("real");
    await mkdir(real);
    const link = tempPath("link");
    await symlink(real, link);

    const first = downloadFile(directory, request(slow!, join(real, "film.bin")));
    // The first download holds the lock while it fetches; the second reaches the same file another way.
    const deadline = Date.now() + 10_000;
    while (!existsSync(partPathOf(join(real, "film.bin"))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const second = await peerError(downloadFile(directory, request(slow!, join(link, "film.bin"))));
    expect(second.code).toBe("locked");
    expect(second.message).toContain("a download to");
    expect(second.message).toContain("is already running");

    const result = await first;
    // Checked on the way in: the next restart or reconnect need not hash it again.
    const [again] = await recheckFiles([result.file]);
    expect(again).toEqual({ file: result.file });
    const saved = await readFile(join(real, "film.bin"));
    expect(sha256(saved)).toBe(sha256(data));
    expect(result.file.root).toBe(rootOf(data));
    const info = await lstat(join(real, "film.bin"));
    expect({ ino: result.file.ino, size: result.file.size, mtimeMs: result.file.mtimeMs }).toEqual({ ino: info.ino, size: info.size, mtimeMs: info.mtimeMs });
    expect((await readdir(real)).sort()).toEqual(["film.bin"]);
  });

  it("takes over a lock left by a process that no longer exists", async () => {
    const data = randomBytes(300_000);
    const [source] = await holdersOf(data, [{ user: "Src" }]);
    const save = tempPath("stale.bin");
    const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
    await writeFile(`${save}.part.lock`, JSON.stringify({ pid: Number(dead.stdout.trim()), host: hostname(), token: "gone" }));
    await downloadFile(directoryOf(data, [source!]), request(source!, save));
    expect(sha256(await readFile(save))).toBe(sha256(data));
    expect(existsSync(`${save}.part.lock`)).toBe(false);
  });
});

describe("--force", () => {
  const canMknod = process.getuid?.() === 0;

  it("never replaces a FIFO, a symlink or a device, and leaves each as it was", async () => {
    const data = randomBytes(100_000);
    const [source] = await holdersOf(data, [{ user: "Src" }]);
    const directory = directoryOf(data, [source!]);
    const fifo = tempPath("fifo");
    execFileSync("mkfifo", [fifo]);
    const target = tempPath("target.txt");
    await writeFile(target, "keep me");
    const link = tempPath("link");
    await symlink(target, link);
    const targets: Array<[string, string]> = [
      [fifo, "FIFO"],
      [link, "symlink"],
    ];
    if (canMknod) {
      const device = tempPath("null");
      execFileSync("mknod", [device, "c", "1", "3"]);
      targets.push([device, "device"]);
    }
    for (const [path, kind] of targets) {
      const error = await peerError(downloadFile(directory, request(source!, path, { force: true })));
      expect(error.message).toContain(`${path} is a ${kind}; only a regular file can be replaced`);
      const after = await lstat(path);
      expect(kind === "FIFO" ? after.isFIFO() : kind === "symlink" ? after.isSymbolicLink() : after.isCharacterDevice()).toBe(true);
    }
    expect(await readFile(target, "utf8")).toBe("keep me");
  });

  it("replaces a regular file", async () => {
    const data = randomBytes(100_000);
    const [source] = await holdersOf(data, [{ user: "Src" }]);
    const save = tempPath("old.bin");
    await writeFile(save, "old");
    await downloadFile(directoryOf(data, [source!]), request(source!, save, { force: true }));
    expect(sha256(await readFile(save))).toBe(sha256(data));
  });

  it("is needed for a file that appears under the name while downloading, which is then kept as it is", async () => {
    const data = randomBytes(2 * MiB);
    const [slow] = await holdersOf(data, [{ user: "Slow", options: { throttleBytesPerSecond: 4 * MiB } }]);
    const save = tempPath("raced.bin");
    const running = downloadFile(directoryOf(data, [slow!]), request(slow!, save));
    const deadline = Date.now() + 10_000;
    while (!existsSync(partPathOf(save)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await writeFile(save, "someone else's");
    const error = await peerError(running);
    expect(error.code).toBe("exists");
    expect(error.message).toContain("appeared while downloading");
    expect(await readFile(save, "utf8")).toBe("someone else's");
    expect(sha256(await readFile(partPathOf(save)))).toBe(sha256(data));
  });
});

/** The honest piece hashes of `data`: what a made-up map is measured against. */
function leavesOf(data: Buffer): Buffer {
  const pieceSize = pieceSizeFor(data.length);
  const leaves: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieceSize) leaves.push(createHash("sha256").update(data.subarray(offset, offset + pieceSize)).digest());
  return Buffer.concat(leaves);
}

async function fake(answers: FakeSourceAnswers, user: string): Promise<Holder> {
  const source = await startFakeSource(answers);
  cleanups.push(() => source.close());
  return { user, port: source.port, path: `/fake/${user}.bin` };
}

describe("sources that lie", () => {
  it("cannot outvote the honest named source: fake holders agreeing on a made-up map are dropped and named, and the file comes from the honest one", async () => {
    const data = randomBytes(3 * MiB);
    // Throttled (a second for the file) so each liar's map is surely judged before the honest holder is done.
    const [honest] = await holdersOf(data, [{ user: "Honest", options: { throttleBytesPerSecond: 3 * MiB } }]);
    const madeUp = randomBytes(leavesOf(data).length);
    const liars = await Promise.all(
      ["Liar1", "Liar2", "Liar3"].map((user) => fake({ size: data.length, claimedRoot: rootOf(data), leaves: madeUp, bytes: (_o, n) => randomBytes(n) }, user)),
    );
    const dropped: string[] = [];
    const save = tempPath("outvoted.bin");
    const result = await downloadFile(directoryOf(data, [honest!, ...liars]), request(honest!, save, { onDrop: (r) => dropped.push(`${r.user}: ${r.dropped}`) }));
    expect(sha256(await readFile(save))).toBe(sha256(data));
    expect(result.file.root).toBe(rootOf(data));
    expect(dropped.sort()).toEqual(
      ["Liar1", "Liar2", "Liar3"].map((user) => `${user}: its piece map does not give the registered root ${rootOf(data).slice(0, 16)}…: it lies about the content`),
    );
    expect(result.sources.find((s) => s.user === "Honest")?.pieces).toBe(12);
  });

  it("named as the source, is dropped while an honest holder of the same content delivers", async () => {
    const data = randomBytes(MiB);
    const [honest] = await holdersOf(data, [{ user: "Honest", options: { throttleBytesPerSecond: 2 * MiB } }]);
    const liar = await fake({ size: data.length, claimedRoot: rootOf(data), leaves: randomBytes(4 * 32), bytes: (_o, n) => randomBytes(n) }, "Liar");
    const save = tempPath("named-liar.bin");
    const result = await downloadFile(directoryOf(data, [liar, honest!]), request(liar, save));
    expect(sha256(await readFile(save))).toBe(sha256(data));
    expect(result.sources.find((s) => s.user === "Liar")?.dropped).toMatch(/does not give the registered root/);
  });

  it("announcing a map for a huge file is refused from its header, before the map is read", async () => {
    const data = randomBytes(MiB);
    const [honest] = await holdersOf(data, [{ user: "Honest", options: { throttleBytesPerSecond: 2 * MiB } }]);
    // 32 TiB: two million piece hashes (64 MiB) if it were believed.
    const huge = await fake({ size: 2 ** 45, claimedRoot: rootOf(data), leaves: Buffer.alloc(0), bytes: (_o, n) => randomBytes(n) }, "Huge");
    const dropped: string[] = [];
    const save = tempPath("not-huge.bin");
    await downloadFile(directoryOf(data, [huge, honest!]), request(honest!, save, { onDrop: (r) => dropped.push(`${r.user}: ${r.dropped}`) }));
    expect(sha256(await readFile(save))).toBe(sha256(data));
    expect(dropped).toEqual([expect.stringMatching(/^Huge: .* offers 35184372088832 bytes for .*, not the listed 1048576: another file, or a lie$/)]);
  });

  it("alone with the true map but wrong bytes, fails at its first bad piece, not after the whole file", async () => {
    const data = randomBytes(16 * MiB);
    const liar = await startFakeSource({ size: data.length, claimedRoot: rootOf(data), leaves: leavesOf(data), bytes: (_o, n) => randomBytes(n) });
    cleanups.push(() => liar.close());
    const holder: Holder = { user: "Liar", port: liar.port, path: "/fake/big.bin" };
    const error = await peerError(downloadFile(directoryOf(data, [holder]), request(holder, tempPath("never.bin"))));
    expect(error.message).toMatch(/Liar: piece \d+ failed its hash check/);
    // Only what was already in flight when the first piece failed: 2 MiB ahead, 8 pieces of 64.
    expect(liar.ranges).toBeLessThanOrEqual(8);
  });

  it("catches any single flipped bit in any piece a lone source sends", async () => {
    const data = randomBytes(MiB + 12_345);
    const leaves = leavesOf(data);
    await fc.assert(
      fc.asyncProperty(fc.nat(data.length - 1), fc.nat(7), async (at, bit) => {
        const flipped = Buffer.from(data);
        flipped[at] = flipped[at]! ^ (1 << bit);
        const source = await startFakeSource({ size: data.length, claimedRoot: rootOf(data), leaves, bytes: (o, n) => flipped.subarray(o, o + n) });
        try {
          const holder: Holder = { user: "Flipper", port: source.port, path: "/fake/flip.bin" };
          const save = tempPath("flip.bin");
          const error = await peerError(downloadFile(directoryOf(data, [holder]), request(holder, save)));
          expect(error.message).toMatch(new RegExp(`piece ${Math.floor(at / pieceSizeFor(data.length))} failed its hash check`));
          expect(existsSync(save)).toBe(false);
        } finally {
          await source.close();
        }
      }),
      { numRuns: 12 },
    );
  });
});

describe("a holder that trickles bytes", () => {
  it("cannot hold a download back: its late pieces are fetched from the others", async () => {
    const data = randomBytes(4 * MiB);
    const [honest] = await holdersOf(data, [{ user: "Honest" }]);
    // The true map (so it proves itself), then one byte a second: each byte keeps the connection from looking stalled.
    const trickler = await fake({ size: data.length, claimedRoot: rootOf(data), leaves: leavesOf(data), bytes: (o, n) => data.subarray(o, o + n), trickleMs: 1000 }, "Slowloris");
    const save = tempPath("not-held.bin");
    const result = await downloadFile(directoryOf(data, [trickler, honest!]), request(trickler, save));
    expect(sha256(await readFile(save))).toBe(sha256(data));
    expect(result.sources.find((s) => s.user === "Honest")?.pieces).toBe(16);
  });
});

describe("a frozen holder of the same content", () => {
  it("never sinks a download the named source can serve", async () => {
    const data = randomBytes(2 * MiB);
    // The named source drops a connection idle for 2 s, as a real one does after 30 s.
    const [named] = await holdersOf(data, [{ user: "Named", options: { idleTimeoutMs: 2000 } }]);
    // Accepts connections and never answers: a process stopped with SIGSTOP looks exactly like this.
    const stuck = new Set<net.Socket>();
    const frozen = net.createServer((socket) => stuck.add(socket));
    await new Promise<void>((resolve) => frozen.listen(0, HOST, resolve));
    cleanups.push(() => {
      for (const socket of stuck) socket.destroy();
      return new Promise<void>((resolve) => frozen.close(() => resolve()));
    });
    const address = frozen.address();
    const frozenHolder: Holder = { user: "Frozen", port: typeof address === "object" && address ? address.port : 0, path: "/frozen/copy.bin" };

    const save = tempPath("thawed.bin");
    // The frozen holder is given 3 s to answer: longer than the named source waits idle.
    const result = await downloadFile(directoryOf(data, [named!, frozenHolder]), request(named!, save), { answerWithinMs: 3000 });
    expect(sha256(await readFile(save))).toBe(sha256(data));
    expect(result.sources.find((s) => s.user === "Named")?.pieces).toBe(8);
  });
});

describe("a destination that cannot be written", () => {
  it("fails before connecting to anyone when the folder cannot be made", async () => {
    const data = randomBytes(100_000);
    const [source] = await holdersOf(data, [{ user: "Src" }]);
    const blocker = tempPath("a-file");
    await writeFile(blocker, "not a folder");
    const before = openSockets();
    const error = await peerError(downloadFile(directoryOf(data, [source!]), request(source!, join(blocker, "sub", "x.bin"))));
    expect(error.code).toBe("unwritable");
    expect(error.message).toContain("is not a folder");
    expect(openSockets()).toBe(before);
  });
});

/** A tmpfs of `size` at a fresh folder, or undefined where mounting is not allowed (not root). */
function tinyDisk(size: string, readOnly = false): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = tempPath(`disk-${size}`);
  execFileSync("mkdir", ["-p", dir]);
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}${readOnly ? ",ro" : ""}`, "tmpfs", dir]);
  if (mounted.status !== 0) return undefined;
  cleanups.push(() => void spawnSync("umount", ["-l", dir]));
  return dir;
}

const canMount = (() => {
  if (process.getuid?.() !== 0) return false;
  const probe = spawnSync("sh", ["-c", 'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d" && rmdir "$d"']);
  return probe.status === 0;
})();

// Small file systems need a mount, which needs root; CI runs as root.
describe.skipIf(!canMount)("a small disk", () => {
  it("refuses up front a download larger than the free space, fetching nothing and leaving nothing", async () => {
    const disk = tinyDisk("1m");
    const data = randomBytes(3 * MiB);
    const [source] = await holdersOf(data, [{ user: "Src" }]);
    const error = await peerError(downloadFile(directoryOf(data, [source!]), request(source!, join(disk!, "big.bin"))));
    expect(error.code).toBe("no-space");
    expect(error.message).toMatch(/not enough space for .*big\.bin: it needs 3\.0 MiB more and .* has .* free; nothing was fetched/);
    expect(await readdir(disk!)).toEqual([]);
  });

  it("fails as the disk's fault when it fills up mid-download, dropping no source and keeping what was verified", async () => {
    const disk = tinyDisk("4m");
    const data = randomBytes(3 * MiB);
    const [slow, other] = await holdersOf(data, [
      { user: "Slow", options: { throttleBytesPerSecond: 2 * MiB } },
      { user: "Other", options: { throttleBytesPerSecond: 2 * MiB } },
    ]);
    const save = join(disk!, "filling.bin");
    const dropped: string[] = [];
    const running = downloadFile(directoryOf(data, [slow!, other!]), request(slow!, save, { onDrop: (r) => dropped.push(r.user) }));
    const deadline = Date.now() + 10_000;
    while (!existsSync(partPathOf(save)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // Someone else takes the room the download was counting on.
    await writeFile(join(disk!, "filler"), Buffer.alloc(2 * MiB)).catch(() => {});
    const error = await peerError(running);
    expect(error.code).toBe("no-space");
    expect(error.message).toMatch(/the disk is full writing .*filling\.bin\.part; the verified pieces are kept in .*: make room and run the same download again to resume/);
    expect(dropped).toEqual([]);
    expect(existsSync(partPathOf(save))).toBe(true);
    expect(existsSync(save)).toBe(false);
  });

  it("says plainly that a read-only destination cannot be written", async () => {
    const disk = tinyDisk("1m", true);
    const data = randomBytes(100_000);
    const [source] = await holdersOf(data, [{ user: "Src" }]);
    const error = await peerError(downloadFile(directoryOf(data, [source!]), request(source!, join(disk!, "ro.bin"))));
    expect(error.code).toBe("unwritable");
    expect(error.message).toContain("the file system is read-only");
  });
});

describe("sources the tracker could not connect to", () => {
  const data = Buffer.from("reachable first");
  const listing = (user: string): FileListing => ({ user, path: `/srv/${user}.txt`, size: data.length, root: rootOf(data) });
  const directoryWith = (users: readonly KnownUser[]): SourceDirectory => ({
    lookup: (user) => users.find((u) => u.user === user)!,
    find: (user) => users.find((u) => u.user === user),
    listing: (user) => listing(user),
    holders: () => users.map((u) => listing(u.user)),
  });
  /** Who a download of Named's file asks, in order, when Named is `named` as the tracker saw it. */
  const order = (named: boolean | null) => {
    const users: KnownUser[] = [
      { user: "Named", host: HOST, port: 1001, reachable: named },
      { user: "Blocked", host: HOST, port: 1002, reachable: false },
      { user: "Unchecked", host: HOST, port: 1003, reachable: null },
      { user: "Open", host: HOST, port: 1004, reachable: true },
    ];
    const holder = { user: "Named", port: 1001, path: "/srv/Named.txt" };
    return sourcesFor(directoryWith(users), request(holder, "/tmp/x"), users[0]!, listing("Named")).map((s) => s.user);
  };

  it("are asked after those it reached and those it has not checked, the named one too, and none is left out", () => {
    expect(order(false)).toEqual(["Open", "Unchecked", "Named", "Blocked"]);
  });

  it("leave the named source first when the tracker reached it", () => {
    expect(order(true)).toEqual(["Named", "Open", "Unchecked", "Blocked"]);
  });

  it("make a failed download say the tracker could not connect to them either", async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, HOST, () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const alone: KnownUser = { user: "Behind", host: HOST, port: closed, reachable: false };
    const lonely = directoryWith([alone]);
    const error = await peerError(downloadFile(lonely, request({ user: "Behind", port: closed, path: "/srv/Behind.txt" }, tempPath("behind.txt"))));
    expect(error.exitCode).toBe(5);
    expect(error.message).toContain(`cannot download /srv/Behind.txt from Behind`);
    expect(error.message).toContain("the tracker could not connect to Behind's mini-server either");
  });
});
