/** Small helpers the peer's socket tests share. */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readlinkSync, realpathSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pieceSizeFor } from "@p2p/shared";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import { EXIT, PeerError } from "../src/errors.ts";
import { rootHexOfLeaves } from "../src/files/content-root.ts";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import type { OfferedFiles } from "../src/files/offered-files.ts";
import { startMiniServer, type MiniServer, type MiniServerOptions } from "../src/mini-server/server.ts";

export const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

/** The content root of `data`, computed here the plain way: piece hashes, then the tree. */
export function rootOf(data: Buffer): string {
  const pieceSize = pieceSizeFor(data.length);
  const leaves: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieceSize) leaves.push(createHash("sha256").update(data.subarray(offset, offset + pieceSize)).digest());
  return rootHexOfLeaves(Buffer.concat(leaves));
}

/** The download error a promise rejects with; fails the test if it resolves or throws something else. */
export async function peerError(promise: Promise<unknown>): Promise<PeerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PeerError);
  expect((error as PeerError).exitCode).toBe(EXIT.downloadFailed);
  return error as PeerError;
}

export async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/**
 * How many of this process's file descriptors point at `path`. Throws where
 * /proc/self/fd is missing: a 0 there would mean "cannot tell", and a leak
 * test would pass without looking.
 */
export function openHandlesOn(path: string): number {
  if (!existsSync("/proc/self/fd")) {
    throw new Error(`cannot count the descriptors open on ${path}: this system has no /proc/self/fd`);
  }
  // The links name the file as the kernel resolved it, symlinks in the temp folder included.
  const target = realpathSync(path);
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === target;
    } catch {
      return false;
    }
  }).length;
}

export interface SocketFixture {
  /** The test file's temp folder (set before its tests run). */
  readonly dir: string;
  /** Run after each test, last added first: servers to close, connections to drop. */
  readonly cleanups: Array<() => Promise<void> | void>;
  /** A fresh path in the temp folder. */
  tempPath(name: string): string;
  /** A mini-server on a free loopback port, closed after the test. */
  serve(files: OfferedFiles, options?: Partial<MiniServerOptions>): Promise<MiniServer>;
  /** Writes `data` to a fresh file and registers it in `files`; returns its path. */
  offer(files: OfferedFiles, name: string, data: Buffer): Promise<string>;
}

/** A temp folder for the test file, and cleanups run after each test. */
export function useSocketFixture(prefix: string): SocketFixture {
  let dir = "";
  let counter = 0;
  const cleanups: Array<() => Promise<void> | void> = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const tempPath = (name: string): string => join(dir, `${++counter}-${name}`);
  return {
    get dir() {
      return dir;
    },
    cleanups,
    tempPath,
    async serve(files, options = {}) {
      const server = await startMiniServer({ files, host: "127.0.0.1", port: 0, ...options });
      cleanups.push(() => server.close());
      return server;
    },
    async offer(files, name, data) {
      const path = tempPath(name);
      await writeFile(path, data);
      files.add({ path, ...(await fingerprintFile(path)) });
      return path;
    },
  };
}
