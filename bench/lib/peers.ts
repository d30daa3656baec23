/**
 * Shared set-up for the transfer benchmarks: test files, real `p2p-peer`
 * processes around a real `wrangler dev` tracker, and downloads measured
 * through `p2p-peer download --json`.
 */
import { randomFillSync } from "node:crypto";
import { open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { DownloadOutcome } from "../../peer-cli/src/control/protocol.ts";
import { SourceConnection } from "../../peer-cli/src/download/source-connection.ts";
import { waitFor, type PeerProcess } from "../../scripts/processes.ts";

export const MiB = 1024 * 1024;

/** Writes `bytes` of random content (incompressible, every piece different). */
export async function makeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, "w");
  try {
    const chunk = Buffer.allocUnsafe(8 * MiB);
    for (let written = 0; written < bytes; ) {
      const length = Math.min(chunk.length, bytes - written);
      randomFillSync(chunk, 0, length);
      let done = 0;
      while (done < length) done += (await handle.write(chunk, done, length - done, written + done)).bytesWritten;
      written += length;
    }
  } finally {
    await handle.close();
  }
}

/** The mini-server port a started peer announced in its "ready:" line. */
export function miniServerPort(peer: PeerProcess): number {
  const port = /mini-server port (\d+)/.exec(peer.logs())?.[1];
  if (!port) throw new Error(`peer ${peer.name} did not say its mini-server port:\n${peer.logs()}`);
  return Number(port);
}

/** Runs a peer command, failing loudly with its output when it does not exit 0. */
export async function runOk(peer: PeerProcess, ...args: string[]): Promise<string> {
  const result = await peer.run(...args);
  if (result.code !== 0) throw new Error(`p2p-peer ${args.join(" ")} (home ${peer.home}) exited ${result.code}: ${result.stderr || result.stdout}`);
  return result.stdout;
}

/** Waits until `peer`'s users.txt lists every `user` and its files.json lists every (user, path). */
export async function waitForListing(peer: PeerProcess, entries: readonly { user: string; path: string }[], timeoutMs = 30_000): Promise<void> {
  await waitFor(
    `${peer.name}'s users.txt and files.json to list ${entries.map((e) => e.user).join(", ")}`,
    async () => {
      const users = await readFile(join(peer.home, "users.txt"), "utf8").catch(() => "");
      const files = await readFile(join(peer.home, "files.json"), "utf8").then(
        (text) => JSON.parse(text) as { user: string; path: string }[],
        () => [],
      );
      return entries.every((e) => users.includes(`${e.user} – `) && files.some((f) => f.user === e.user && f.path === e.path));
    },
    timeoutMs,
  );
}

/** `p2p-peer download … --json` from `peer`'s home; the outcome it prints. */
export async function download(peer: PeerProcess, user: string, path: string, save: string, ...flags: string[]): Promise<DownloadOutcome> {
  const stdout = await runOk(peer, "download", user, path, save, "--json", ...flags);
  return JSON.parse(stdout) as DownloadOutcome;
}

/**
 * Asks a mini-server for a file's piece map, so it computes and caches it
 * before anything is timed (the first request hashes every piece).
 */
export async function warmPieceMap(port: number, path: string): Promise<void> {
  const connection = await SourceConnection.open({ host: "127.0.0.1", port, idleTimeoutMs: 120_000 });
  try {
    await connection.pieceMap(path);
  } finally {
    connection.close();
  }
}

/** Removes a downloaded copy and anything a download may have left next to it. */
export async function removeCopy(save: string): Promise<void> {
  await Promise.all([save, `${save}.part`, `${save}.part.json`].map((p) => rm(p, { force: true })));
}
