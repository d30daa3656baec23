import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, link, mkdtemp, open, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pieceSizeFor } from "@p2p/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartFile, partPathOf, readPartState, statePathOf } from "../src/download/part-file.ts";
import { pieceMapOf, type PieceMap } from "../src/download/piece-map.ts";

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2p-part-file-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const digest = (data: Buffer): Buffer => createHash("sha256").update(data).digest();
const savePath = (name: string): string => join(dir, `${++counter}-${name}`);

/** Content and its piece map, as a source would announce it. */
function content(size: number): { data: Buffer; map: PieceMap; piece: (i: number) => Buffer } {
  const data = randomBytes(size);
  const pieceSize = pieceSizeFor(size);
  const piece = (i: number): Buffer => data.subarray(i * pieceSize, (i + 1) * pieceSize);
  const hashes = Array.from({ length: Math.ceil(size / pieceSize) }, (_, i) => digest(piece(i)));
  return { data, map: pieceMapOf(size, pieceSize, hashes), piece };
}

const SIZE = 5 * 256 * 1024 + 1234; // six pieces, the last one short
const indicesOf = (have: boolean[]): number[] => have.flatMap((has, i) => (has ? [i] : []));

/** What a download does: take up what an earlier run left, else start afresh. */
const openPart = async (save: string, map: PieceMap) => (await PartFile.resume(save, map)) ?? (await PartFile.create(save, map));

describe("PartFile", () => {
  it("starts fresh with a full-size .part and a state file naming the map", async () => {
    const { map } = content(SIZE);
    const save = savePath("fresh.bin");

    const { part, have, resumedBytes } = await openPart(save, map);

    expect(have).toEqual(new Array(6).fill(false));
    expect(resumedBytes).toBe(0);
    expect((await stat(partPathOf(save))).size).toBe(SIZE);
    expect(existsSync(save)).toBe(false);
    expect(await readPartState(save)).toEqual(map);
    expect(part.pieceLength(0)).toBe(map.pieceSize);
    expect(part.pieceLength(5)).toBe(SIZE - 5 * map.pieceSize);
    await part.discard();
  });

  it("resumes exactly the pieces written before suspend, minus one corrupted on disk since", async () => {
    const { map, piece } = content(SIZE);
    const save = savePath("resume.bin");
    const first = await openPart(save, map);
    for (const i of [0, 2, 3, 5]) await first.part.writePiece(i, piece(i));
    await first.part.suspend();

    // Flip a byte of piece 3 behind the part file's back.
    const handle = await open(partPathOf(save), "r+");
    const at = 3 * map.pieceSize + 100;
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, at);
    await handle.close();

    const second = await openPart(save, map);

    expect(indicesOf(second.have)).toEqual([0, 2, 5]);
    expect(second.resumedBytes).toBe(2 * map.pieceSize + (SIZE - 5 * map.pieceSize));
    // The resumed pieces are still there to be read.
    expect((await second.part.readPiece(2)).equals(piece(2))).toBe(true);
    await second.part.discard();
  });

  it("starts fresh when the earlier part belongs to a different map", async () => {
    const one = content(SIZE);
    const other = content(SIZE);
    const save = savePath("other.bin");
    const first = await openPart(save, one.map);
    for (let i = 0; i < 6; i++) await first.part.writePiece(i, one.piece(i));
    await first.part.suspend();

    const second = await openPart(save, other.map);

    expect(indicesOf(second.have)).toEqual([]);
    expect(second.resumedBytes).toBe(0);
    expect(await readPartState(save)).toEqual(other.map);
    // The old bytes are gone, not merely unverified.
    expect((await readFile(partPathOf(save))).equals(Buffer.alloc(SIZE))).toBe(true);
    await second.part.discard();
  });

  it("starts fresh when the .part is missing or has the wrong size", async () => {
    const { map, piece } = content(SIZE);
    const save = savePath("damaged.bin");
    const first = await openPart(save, map);
    await first.part.writePiece(0, piece(0));
    await first.part.suspend();

    const shrunk = await open(partPathOf(save), "r+");
    await shrunk.truncate(SIZE - 1);
    await shrunk.close();
    const second = await openPart(save, map);
    expect(indicesOf(second.have)).toEqual([]);
    expect((await stat(partPathOf(save))).size).toBe(SIZE);
    await second.part.writePiece(0, piece(0));
    await second.part.suspend();

    await rm(partPathOf(save));
    const third = await openPart(save, map);
    expect(indicesOf(third.have)).toEqual([]);
    expect((await stat(partPathOf(save))).size).toBe(SIZE);
    await third.part.discard();
  });

  it("complete() moves the finished file into place and removes the state", async () => {
    const { data, map, piece } = content(SIZE);
    const save = savePath("done.bin");
    const { part } = await openPart(save, map);
    for (const i of [5, 1, 0, 4, 3, 2]) await part.writePiece(i, piece(i));

    await part.complete(false);

    expect((await readFile(save)).equals(data)).toBe(true);
    expect(existsSync(partPathOf(save))).toBe(false);
    expect(existsSync(statePathOf(save))).toBe(false);
    expect(await readPartState(save)).toBeNull();
  });

  it("discard() removes the .part and its state", async () => {
    const { map, piece } = content(SIZE);
    const save = savePath("discarded.bin");
    const { part } = await openPart(save, map);
    await part.writePiece(1, piece(1));

    await part.discard();

    expect(existsSync(partPathOf(save))).toBe(false);
    expect(existsSync(statePathOf(save))).toBe(false);
    expect(existsSync(save)).toBe(false);
  });

  const tampering: Array<[string, (path: string) => Promise<void>]> = [
    ["writable by others", (path) => chmod(path, 0o666)],
    ["with a second name (a hard link someone else could write through)", (path) => link(path, `${path}.other`)],
  ];
  // Only root can give a file away; CI runs as root.
  if (process.getuid?.() === 0) tampering.push(["owned by another user", (path) => chown(path, 4242, 4242)]);
  it.each(tampering)("never resumes a part file %s, and starts a fresh one of its own", async (_what, tamper) => {
    const { map, piece } = content(SIZE);
    const save = savePath("tampered.bin");
    const first = await openPart(save, map);
    for (let i = 0; i < 6; i++) await first.part.writePiece(i, piece(i));
    await first.part.suspend();
    // Held open, the tampered file's inode cannot be handed to another file: a new inode means a new file.
    const held = await open(partPathOf(save), "r");
    const before = await held.stat();
    await tamper(partPathOf(save));

    expect(await PartFile.resume(save, map)).toBeNull();
    const fresh = await openPart(save, map);
    expect(indicesOf(fresh.have)).toEqual([]);
    const after = await stat(partPathOf(save));
    // A new file, not the tampered one put right (whoever opened that may still write through it), and none of the old bytes.
    expect(after.ino).not.toBe(before.ino);
    await held.close();
    expect((await readFile(partPathOf(save))).equals(Buffer.alloc(SIZE))).toBe(true);
    expect(after.mode & 0o022).toBe(0);
    expect(after.nlink).toBe(1);
    await fresh.part.discard();
  });

  it("reads no part state through a symlink or from a FIFO at its name", async () => {
    const { map } = content(SIZE);
    const fifoSave = savePath("fifo-state.bin");
    execFileSync("mkfifo", [statePathOf(fifoSave)]);
    expect(await readPartState(fifoSave)).toBeNull();
    const linkSave = savePath("link-state.bin");
    const real = savePath("real-state.json");
    await writeFile(real, JSON.stringify({ version: 2, size: map.size, root: map.root, pieceSize: map.pieceSize, hashes: map.hashes.map((h) => h.toString("hex")) }));
    await symlink(real, statePathOf(linkSave));
    expect(await readPartState(linkSave)).toBeNull();
  });

  it("handles an empty file", async () => {
    const { map } = content(0);
    const save = savePath("empty.bin");
    const { part, have } = await openPart(save, map);
    expect(have).toEqual([]);
    await part.complete(false);
    expect((await readFile(save)).length).toBe(0);
  });
});
