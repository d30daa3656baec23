/**
 * Files written before content roots: a `state.json` that names files by
 * whole-file SHA-256 and a `.part.json` of version 1. Neither is trusted:
 * offered files are hashed again, a part state is used only if its hashes
 * give the registered root.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { pieceSizeFor } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { downloadFile, type SourceDirectory } from "../src/download/download-file.ts";
import { partPathOf, statePathOf } from "../src/download/part-file.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { PieceMaps } from "../src/mini-server/piece-maps.ts";
import { Announcer } from "../src/peer/announcer.ts";
import { loadState } from "../src/peer/saved-state.ts";
import { TrackerClient } from "../src/tracker/tracker-client.ts";
import { rootOf, sha256, useSocketFixture } from "./helpers.ts";

const fixture = useSocketFixture("p2p-migration-");
const { tempPath, serve, offer } = fixture;

describe("a state.json from before content roots", () => {
  it("is not trusted: its files are hashed again and offered under their roots, and a gone one is dropped", async () => {
    const data = randomBytes(700_000);
    const path = tempPath("kept.bin");
    await writeFile(path, data);
    const info = await stat(path);
    const stateFile = tempPath("state.json");
    const entry = { size: data.length, sha256: sha256(data), dev: info.dev, ino: info.ino, mtimeMs: info.mtimeMs };
    await writeFile(stateFile, JSON.stringify({ version: 2, user: "Old", files: [{ path, ...entry }, { path: tempPath("gone.bin"), ...entry }] }));

    const lines: string[] = [];
    const saved = await loadState(stateFile, (line) => lines.push(line));
    expect(saved).toMatchObject({ user: "Old", files: [], stale: [{ path, dev: info.dev, ino: info.ino }, { path: expect.stringContaining("gone.bin") }] });
    const files = new OfferedFiles();
    const pieceMaps = new PieceMaps();
    const announcer = new Announcer({
      files,
      pieceMaps,
      tracker: new TrackerClient({ url: "ws://127.0.0.1:9/ws", log: () => {}, onConnected: async () => {} }),
      stateFile,
      log: (line) => lines.push(line),
    });
    await announcer.restore(saved!);
    expect(files.list().map((f) => ({ path: f.path, root: f.root }))).toEqual([{ path, root: rootOf(data) }]);
    expect(announcer.name).toBe("Old");
    expect(lines.join("\n")).toContain("hashing again 2 files saved by an older version");
    expect(lines.join("\n")).toMatch(/no longer offering .*gone\.bin: no such file/);
    // Hashed once: serving the file needs no second pass.
    const server = await serve(files, { pieceMaps });
    expect(server.port).toBeGreaterThan(0);
    await pieceMaps.get(files.list()[0]!);
    expect(pieceMaps.computations).toBe(0);
  });
});

describe("a .part.json of version 1", () => {
  const leavesOf = (data: Buffer) => {
    const size = pieceSizeFor(data.length);
    const out: string[] = [];
    for (let o = 0; o < data.length; o += size) out.push(createHash("sha256").update(data.subarray(o, o + size)).digest("hex"));
    return out;
  };

  async function interrupted(data: Buffer, hashes: string[]): Promise<string> {
    const save = tempPath("resumed.bin");
    const pieceSize = pieceSizeFor(data.length);
    // Half of the pieces on disk, the rest zeros: what an interrupted download leaves.
    const part = Buffer.alloc(data.length);
    data.copy(part, 0, 0, pieceSize * Math.floor(hashes.length / 2));
    await writeFile(partPathOf(save), part);
    await writeFile(statePathOf(save), JSON.stringify({ version: 1, size: data.length, sha256: sha256(data), pieceSize, hashes }));
    return save;
  }

  async function download(data: Buffer, save: string) {
    const files = new OfferedFiles();
    const path = await offer(files, "source.bin", data);
    const server = await serve(files);
    const directory: SourceDirectory = {
      lookup: () => ({ user: "Src", host: "127.0.0.1", port: server.port }),
      find: () => ({ user: "Src", host: "127.0.0.1", port: server.port }),
      listing: () => ({ user: "Src", path, size: data.length, root: rootOf(data) }),
      holders: () => [],
    };
    return downloadFile(directory, { user: "Src", path, save, force: false, singleSource: false, self: null });
  }

  it("is taken over when its hashes give the registered root: the verified half is resumed", async () => {
    const data = randomBytes(8 * 256 * 1024);
    const save = await interrupted(data, leavesOf(data));
    const result = await download(data, save);
    expect(result.resumedBytes).toBe(4 * 256 * 1024);
    expect(result.transferred).toBe(4 * 256 * 1024);
    expect(sha256(await readFile(save))).toBe(sha256(data));
  });

  it("is ignored when its hashes do not give the registered root, and the download starts over", async () => {
    const data = randomBytes(8 * 256 * 1024);
    const save = await interrupted(data, leavesOf(randomBytes(data.length)));
    const result = await download(data, save);
    expect(result.resumedBytes).toBe(0);
    expect(result.transferred).toBe(data.length);
  });
});
