/** Small helpers the peer's socket tests share. */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { expect } from "vitest";
import { EXIT, PeerError } from "../src/errors.ts";

export const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

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

/** How many of this process's file descriptors point at `path` (0 where /proc is missing). */
export function openHandlesOn(path: string): number {
  if (!existsSync("/proc/self/fd")) return 0;
  return readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false;
    }
  }).length;
}
