import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PeerError } from "../src/errors.ts";
import { fingerprintFile, sameFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { sha256, rootOf } from "./helpers.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2p-fingerprint-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


async function expectPeerError(promise: Promise<unknown>, code: string, text: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PeerError);
  expect((error as PeerError).code).toBe(code);
  expect((error as PeerError).message).toContain(text);
}

describe("fingerprintFile", () => {
  it("reports size, SHA-256 and identity of a file larger than one read", async () => {
    const path = join(dir, "data.bin");
    const data = randomBytes(1024 * 1024 + 123);
    await writeFile(path, data);
    const fp = await fingerprintFile(path);
    const st = await stat(path);
    expect(fp).toMatchObject({ size: data.length, root: rootOf(data), dev: st.dev, ino: st.ino, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs });
    expect(fp.hashedAt).toBeGreaterThan(Date.now() - 60_000);
  });

  it("fingerprints an empty file", async () => {
    const path = join(dir, "empty");
    await writeFile(path, "");
    const fp = await fingerprintFile(path);
    expect(fp.size).toBe(0);
    expect(fp.root).toBe(sha256(Buffer.alloc(0)));
  });

  it("rejects a missing file", async () => {
    const path = join(dir, "nope");
    await expectPeerError(fingerprintFile(path), "missing", `no such file: ${path}`);
  });

  it("rejects a directory", async () => {
    const path = join(dir, "a-dir");
    await mkdir(path);
    await expectPeerError(fingerprintFile(path), "not-a-file", path);
  });

  const hasMkfifo = process.platform !== "win32" && spawnSync("mkfifo", ["--version"]).error === undefined;
  it.skipIf(!hasMkfifo)("rejects a FIFO without waiting for a writer", async () => {
    const path = join(dir, "fifo");
    expect(spawnSync("mkfifo", [path]).status).toBe(0);
    await expectPeerError(fingerprintFile(path), "not-a-file", path);
  });

  it.skipIf(process.platform === "win32")("rejects an unreadable file", async () => {
    const path = join(dir, "secret");
    await writeFile(path, "x");
    await chmod(path, 0o000);
    if (process.getuid?.() !== 0) {
      await expectPeerError(fingerprintFile(path), "unreadable", path);
      return;
    }
    // root reads anything, so the same call runs as an unprivileged user (nobody).
    await chmod(dir, 0o755);
    const module = new URL("../src/files/fingerprint.ts", import.meta.url).href;
    const script = `
      process.setgid(65534); process.setuid(65534);
      const { fingerprintFile } = await import(${JSON.stringify(module)});
      try { await fingerprintFile(${JSON.stringify(path)}); console.log("{}"); }
      catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout)).toEqual({ code: "unreadable", message: `permission denied: ${path}` });
  });
});

describe("sameFile", () => {
  it("holds for an untouched file and fails once it is rewritten or replaced", async () => {
    const path = join(dir, "same.txt");
    await writeFile(path, "first");
    const fp = await fingerprintFile(path);
    expect(sameFile(fp, await stat(path))).toBe(true);

    await writeFile(path, "first, and more");
    expect(sameFile(fp, await stat(path))).toBe(false);

    const again = await fingerprintFile(path);
    const other = join(dir, "same.new");
    await writeFile(other, "first, and more");
    await rename(other, path);
    expect(sameFile(again, await stat(path))).toBe(false);
  });
});

describe("OfferedFiles", () => {
  it("keeps one entry per path, listed in path order", () => {
    const files = new OfferedFiles();
    const entry = (path: string, size: number) => ({ path, size, root: "0".repeat(64), dev: 1, ino: size, mtimeMs: 0, ctimeMs: 0, hashedAt: 0 });
    files.add(entry("/b", 1));
    files.add(entry("/a", 2));
    files.add(entry("/b", 3));
    expect(files.size).toBe(2);
    expect(files.list().map((f) => [f.path, f.size])).toEqual([
      ["/a", 2],
      ["/b", 3],
    ]);
    expect(files.get("/b")?.size).toBe(3);
    expect(files.remove("/a")).toBe(true);
    expect(files.remove("/a")).toBe(false);
    expect(files.get("/a")).toBeUndefined();
  });
});
