/** The small files a peer keeps beside others': locks that one process holds, piece maps kept across restarts. */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { takeLock } from "../src/files/pid-lock.ts";
import { PieceStore } from "../src/files/piece-store.ts";
import { fingerprintFile, hashFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { PieceMaps } from "../src/mini-server/piece-maps.ts";
import { useSocketFixture } from "./helpers.ts";

const fixture = useSocketFixture("p2p-locks-");
const { tempPath } = fixture;

describe("takeLock", () => {
  it("gives a lock to one holder at a time, and names the holder to the next", async () => {
    const path = tempPath("one.lock");
    const first = await takeLock(path);
    expect("held" in first).toBe(true);
    const second = await takeLock(path);
    expect(second).toEqual({ holder: { pid: process.pid, host: expect.any(String), token: expect.any(String) } });
    if ("held" in first) await first.held.release();
    expect("held" in (await takeLock(path))).toBe(true);
  });

  // Three rounds of seven Node processes: seconds when idle, far more on a loaded machine.
  it("lets exactly one of many racing processes have a lock its dead holder left", { timeout: 120_000 }, async () => {
    const module = new URL("../src/files/pid-lock.ts", import.meta.url).href;
    // Each process waits for the go, takes the lock, holds it a moment, then says whether it still held it.
    const script = `
      const { existsSync } = await import("node:fs");
      const { takeLock } = await import(${JSON.stringify(module)});
      const [path, go] = process.argv.slice(-2);
      while (!existsSync(go)) await new Promise((r) => setTimeout(r, 2));
      const attempt = await takeLock(path);
      if (!("held" in attempt)) { console.log("{}"); process.exit(0); }
      const from = Date.now();
      await new Promise((r) => setTimeout(r, 300));
      const { readFileSync } = await import("node:fs");
      const kept = readFileSync(path, "utf8").includes(process.pid.toString());
      console.log(JSON.stringify({ from, to: Date.now(), kept }));
      await attempt.held.release();`;
    for (let round = 0; round < 3; round++) {
      const path = tempPath(`stale-${round}.lock`);
      const go = tempPath(`go-${round}`);
      const dead = spawnSync(process.execPath, ["-e", "console.log(process.pid)"], { encoding: "utf8" });
      await writeFile(path, JSON.stringify({ pid: Number(dead.stdout.trim()), host: hostname(), token: "left-by-a-crash" }));
      const children = Array.from({ length: 6 }, () => {
        const child = spawn(process.execPath, ["--input-type=module", "-e", script, "--", path, go], { stdio: ["ignore", "pipe", "inherit"] });
        let out = "";
        child.stdout.on("data", (d) => (out += d));
        return new Promise<string>((resolve) => child.once("exit", () => resolve(out.trim())));
      });
      await new Promise((r) => setTimeout(r, 500)); // every child is started and waiting
      await writeFile(go, "");
      const holds = (await Promise.all(children)).map((line) => JSON.parse(line) as { from?: number; to?: number; kept?: boolean }).filter((h) => h.from !== undefined);
      expect(holds.length).toBeGreaterThan(0);
      // Nobody lost a lock it was given, and no two held it at the same time.
      expect(holds.every((h) => h.kept)).toBe(true);
      const sorted = holds.sort((a, b) => (a.from ?? 0) - (b.from ?? 0));
      for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.from!, JSON.stringify(sorted)).toBeGreaterThanOrEqual(sorted[i - 1]!.to!);
    }
  });

  it("treats a FIFO or symlink planted at the lock's name as held, without hanging", async () => {
    const fifo = tempPath("fifo.lock");
    execFileSync("mkfifo", [fifo]);
    expect(await takeLock(fifo)).toEqual({ holder: undefined });
  });
});

describe("PieceStore", () => {
  it("keeps a file's piece map across a restart, so serving it needs no pass over the file", async () => {
    const path = tempPath("kept.bin");
    await writeFile(path, randomBytes(700_000));
    const { fingerprint, leaves } = await hashFile(path);
    const file = { path, ...fingerprint };
    const store = new PieceStore(join(fixture.dir, "pieces"));
    new PieceMaps({ store }).seed(file, leaves);
    const files = new OfferedFiles();
    files.add(file);

    const deadline = Date.now() + 5000;
    while (!(await store.get(file.root, file.size)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const afterRestart = new PieceMaps({ store });
    expect((await afterRestart.get(file)).equals(leaves)).toBe(true);
    expect(afterRestart.computations).toBe(0);
  });

  it("does not trust a kept map that does not give its root, and forgets what nobody offers", async () => {
    const path = tempPath("tampered.bin");
    await writeFile(path, randomBytes(700_000));
    const file = { path, ...(await fingerprintFile(path)) };
    const store = new PieceStore(join(fixture.dir, "pieces-2"));
    await store.put(file.root, file.size, randomBytes(3 * 32));
    expect(await store.get(file.root, file.size)).toBeUndefined();
    const maps = new PieceMaps({ store });
    await maps.get(file);
    expect(maps.computations).toBe(1);
    // Computed again from the file, and kept (written in the background).
    const deadline = Date.now() + 5000;
    while (!(await store.get(file.root, file.size)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await store.get(file.root, file.size)).toBeDefined();
    await store.keepOnly([]);
    expect(await store.get(file.root, file.size)).toBeUndefined();
  });
});
