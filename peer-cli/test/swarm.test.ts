import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import net from "node:net";
import { pieceSizeFor } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { PartFile } from "../src/download/part-file.ts";
import { runSwarm, type SourceReport, type SwarmOptions, type SwarmResult, type SwarmSource } from "../src/download/swarm.ts";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { startMiniServer, type MiniServer, type MiniServerOptions } from "../src/mini-server/server.ts";
import type { PieceMap } from "../src/download/piece-map.ts";
import { SourceConnection } from "../src/download/source-connection.ts";
import { useSocketFixture } from "./helpers.ts";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;
/** 32 pieces of 256 KiB, the last one short. */
const SIZE = 8 * MiB - 1000;
/** Per source: 32 pieces take about a second from one source, a third of that from three. */
const RATE = 8 * MiB;

const fixture = useSocketFixture("p2p-swarm-");
const { cleanups, tempPath } = fixture;


interface Swarm {
  data: Buffer;
  map: PieceMap;
  servers: MiniServer[];
  sources: SwarmSource[];
  save: string;
}

/** One copy of the same random content per server, each server on its own port, and a connection to each. */
async function swarmOf(serverOptions: Partial<MiniServerOptions>[], size = SIZE): Promise<Swarm> {
  const data = randomBytes(size);
  const servers: MiniServer[] = [];
  const sources: SwarmSource[] = [];
  for (const [i, options] of serverOptions.entries()) {
    const files = new OfferedFiles();
    const path = tempPath(`copy-${i}.bin`);
    await writeFile(path, data);
    files.add({ path, ...(await fingerprintFile(path)) });
    const server = await startMiniServer({ files, host: HOST, port: 0, ...options });
    cleanups.push(() => server.close());
    const user = `user${i}`;
    const connection = await SourceConnection.open({ host: HOST, port: server.port, owner: user });
    cleanups.push(() => connection.close());
    servers.push(server);
    sources.push({ user, path, connection });
  }
  const map = await sources[0]!.connection.pieceMap(sources[0]!.path);
  expect(map.pieceSize).toBe(pieceSizeFor(size));
  return { data, map, servers, sources, save: tempPath("saved.bin") };
}

interface Run {
  result: SwarmResult;
  part: PartFile;
  pieces: number[];
  drops: SourceReport[];
}

/** Opens the part file, runs the swarm, and records what it reported. */
async function download(
  swarm: Swarm,
  extra: { onProgress?: (verifiedBytes: number, active: number) => void; signal?: AbortSignal } = {},
): Promise<Run> {
  const { part, have } = (await PartFile.resume(swarm.save, swarm.map)) ?? (await PartFile.create(swarm.save, swarm.map));
  const pieces: number[] = [];
  const drops: SourceReport[] = [];
  const options: SwarmOptions & { sources: readonly SwarmSource[] } = {
    sources: swarm.sources,
    map: swarm.map,
    part,
    have,
    onPiece: (i) => pieces.push(i),
    onProgress: extra.onProgress ?? (() => {}),
    onDrop: (report) => drops.push(report),
    ...(extra.signal ? { signal: extra.signal } : {}),
  };
  const result = await runSwarm(options);
  return { result, part, pieces, drops };
}

/** Checks the download is whole and right, then moves it into place and compares bytes. */
async function expectComplete(swarm: Swarm, run: Run): Promise<void> {
  expect(run.result.complete).toBe(true);
  await run.part.complete(false);
  expect((await readFile(swarm.save)).equals(swarm.data)).toBe(true);
}

/**
 * A source that takes every request and answers none of them until it goes
 * away: whatever the swarm handed it is outstanding when it leaves.
 */
async function silentSource(user: string, path: string): Promise<{ source: SwarmSource; leave: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  let leaving: Promise<void> | undefined;
  const leave = () =>
    (leaving ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    }));
  cleanups.push(leave);
  const connection = await SourceConnection.open({ host: HOST, port: (server.address() as net.AddressInfo).port, owner: user });
  cleanups.push(() => connection.close());
  return { source: { user, path, connection }, leave };
}

const report = (run: Run, source: SwarmSource): SourceReport => run.result.sources.find((s) => s.user === source.user)!;
const sum = (reports: SourceReport[], key: "pieces" | "bytes"): number => reports.reduce((total, r) => total + r[key], 0);

describe("runSwarm", () => {
  it("fetches the file from three sources, each delivering pieces, with bounded duplicates", async () => {
    const swarm = await swarmOf([{ throttleBytesPerSecond: RATE }, { throttleBytesPerSecond: RATE }, { throttleBytesPerSecond: RATE }]);
    const progress: number[] = [];

    const run = await download(swarm, { onProgress: (bytes) => progress.push(bytes) });

    await expectComplete(swarm, run);
    const { result } = run;
    expect(result.refetched).toBe(0);
    expect(run.drops).toEqual([]);
    for (const source of swarm.sources) {
      expect(report(run, source).dropped).toBeUndefined();
      expect(report(run, source).pieces).toBeGreaterThan(0);
    }
    // Each piece counted once, for the source that delivered it first.
    expect(sum(result.sources, "pieces")).toBe(swarm.map.hashes.length);
    expect(sum(result.sources, "bytes")).toBe(swarm.data.length);
    expect([...run.pieces].sort((a, b) => a - b)).toEqual(swarm.map.hashes.map((_, i) => i));
    expect(result.transferred).toBeGreaterThanOrEqual(swarm.data.length);
    // Endgame duplicates are bounded: at most one in-flight window (2 MiB) per source.
    expect(result.transferred).toBeLessThanOrEqual(swarm.data.length + swarm.sources.length * 2 * MiB);
    expect(progress[0]).toBe(0);
    expect(progress.at(-1)).toBe(swarm.data.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    // The swarm closes its connections when it is done.
    for (const source of swarm.sources) expect(source.connection.closed).toBe(true);
  });

  it("fetches only the missing pieces when resuming, with bounded duplicates", async () => {
    const swarm = await swarmOf([{ throttleBytesPerSecond: RATE }, { throttleBytesPerSecond: RATE }, { throttleBytesPerSecond: RATE }]);
    const { map, data } = swarm;
    const earlier = await PartFile.create(swarm.save, map);
    const kept = [0, 1, 2, 7, 8, 20, 31];
    for (const i of kept) await earlier.part.writePiece(i, data.subarray(i * map.pieceSize, (i + 1) * map.pieceSize));
    await earlier.part.suspend();
    const keptBytes = kept.reduce((total, i) => total + earlier.part.pieceLength(i), 0);
    const missing = data.length - keptBytes;

    const run = await download(swarm);

    await expectComplete(swarm, run);
    expect(run.pieces.filter((i) => kept.includes(i))).toEqual([]);
    expect(sum(run.result.sources, "bytes")).toBe(missing);
    expect(run.result.transferred).toBeGreaterThanOrEqual(missing);
    expect(run.result.transferred).toBeLessThanOrEqual(missing + swarm.sources.length * 2 * MiB);
  });

  it("completes an empty file without asking anyone", async () => {
    const swarm = await swarmOf([{}, {}], 0);
    const run = await download(swarm);
    await expectComplete(swarm, run);
    expect(run.result.transferred).toBe(0);
  });

  it("drops a source whose pieces fail their hash check and completes from the others", async () => {
    const swarm = await swarmOf([{ throttleBytesPerSecond: RATE }, { corruptRanges: true }, { throttleBytesPerSecond: RATE }]);
    const [, liar] = swarm.sources;

    const run = await download(swarm);

    await expectComplete(swarm, run);
    expect(run.drops).toHaveLength(1);
    expect(run.drops[0]!.user).toBe(liar!.user);
    expect(run.drops[0]!.dropped).toMatch(/^piece \d+ failed its hash check$/);
    expect(report(run, liar!)).toEqual(run.drops[0]);
    expect(report(run, liar!).pieces).toBe(0);
    // The liar was asked for pieces up front; they were fetched again from the others.
    expect(run.result.refetched).toBeGreaterThan(0);
    for (const source of swarm.sources) if (source !== liar) expect(report(run, source).dropped).toBeUndefined();
    expect(sum(run.result.sources, "bytes")).toBe(swarm.data.length);
  });

  it("completes from the other sources when one goes away mid-way, asking again for exactly what it held", async () => {
    const swarm = await swarmOf([{ throttleBytesPerSecond: RATE }, { throttleBytesPerSecond: RATE }]);
    const silent = await silentSource("leaver", swarm.sources[0]!.path);
    const leaving = silent.source;
    const sources = [swarm.sources[0]!, leaving, swarm.sources[1]!];
    let outstandingAtClose: number | undefined;

    const run = await download(
      { ...swarm, sources },
      {
        onProgress: (bytes) => {
          if (bytes >= 2 * swarm.map.pieceSize && outstandingAtClose === undefined) {
            outstandingAtClose = leaving.connection.outstanding;
            void silent.leave();
          }
        },
      },
    );

    // It was handed pieces up front and delivered none of them, so every one
    // was still outstanding when it went (long before the endgame could double
    // up on them): each is asked for again exactly once, and nothing else is.
    expect(outstandingAtClose).toBeGreaterThan(0);
    expect(run.result.refetched).toBe(outstandingAtClose);
    await expectComplete(swarm, run);
    expect(report(run, leaving)).toMatchObject({ pieces: 0, bytes: 0 });
    expect(report(run, leaving).dropped).toContain("leaver's mini-server");
    expect(run.drops.map((d) => d.user)).toEqual([leaving.user]);
    for (const source of sources) if (source !== leaving) expect(report(run, source).dropped).toBeUndefined();
    expect(sum(run.result.sources, "bytes")).toBe(swarm.data.length);
  });

  it("reports an incomplete download when every source is gone, keeping the verified pieces", async () => {
    const swarm = await swarmOf([{ throttleBytesPerSecond: RATE }, { throttleBytesPerSecond: RATE }]);
    let closed = false;

    const run = await download(swarm, {
      onProgress: (bytes) => {
        if (bytes > 0 && !closed) {
          closed = true;
          for (const server of swarm.servers) void server.close();
        }
      },
    });

    expect(run.result.complete).toBe(false);
    expect(run.drops.map((d) => d.user).sort()).toEqual(swarm.sources.map((s) => s.user));
    for (const source of swarm.sources) expect(report(run, source).dropped).toEqual(expect.any(String));
    expect(run.pieces.length).toBeGreaterThan(0);
    expect(run.pieces.length).toBeLessThan(swarm.map.hashes.length);

    // Exactly the pieces reported as delivered are on disk, ready for a resume.
    await run.part.suspend();
    const resumed = (await PartFile.resume(swarm.save, swarm.map))!;
    expect(resumed.have.flatMap((has, i) => (has ? [i] : []))).toEqual([...run.pieces].sort((a, b) => a - b));
    await resumed.part.discard();
  });

  it("reports an incomplete download when no source can serve the file at all", async () => {
    const swarm = await swarmOf([{}, {}]);
    const [first, second] = swarm.sources;
    const run = await download({ ...swarm, sources: [{ ...first!, path: "/not/offered" }, { ...second!, path: "/not/offered/either" }] });

    expect(run.result.complete).toBe(false);
    expect(run.result.transferred).toBe(0);
    expect(run.drops).toHaveLength(2);
    for (const drop of run.drops) expect(drop.dropped).toContain("is not offered by this peer");
    await run.part.discard();
  });

  it("stops when aborted, without blaming the sources", async () => {
    // Slow enough that the whole file would take seconds.
    const swarm = await swarmOf([{ throttleBytesPerSecond: 2 * MiB }, { throttleBytesPerSecond: 2 * MiB }]);
    const controller = new AbortController();

    const run = await download(swarm, {
      signal: controller.signal,
      onProgress: (bytes) => {
        if (bytes > 0) controller.abort();
      },
    });

    expect(run.result.complete).toBe(false);
    expect(run.drops).toEqual([]);
    for (const source of swarm.sources) expect(report(run, source).dropped).toBeUndefined();
    expect(run.result.transferred).toBeLessThan(swarm.data.length / 2);
    for (const source of swarm.sources) expect(source.connection.closed).toBe(true);
    await run.part.discard();
  });

  it("does nothing when the signal is already aborted", async () => {
    const swarm = await swarmOf([{ throttleBytesPerSecond: 2 * MiB }, { throttleBytesPerSecond: 2 * MiB }]);
    const controller = new AbortController();
    controller.abort();

    const run = await download(swarm, { signal: controller.signal });

    expect(run.result.complete).toBe(false);
    expect(run.result.transferred).toBe(0);
    expect(run.pieces).toEqual([]);
    expect(run.drops).toEqual([]);
    await run.part.discard();
  });
});
