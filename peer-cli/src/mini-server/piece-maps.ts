/**
 * Piece maps of registered files: the SHA-256 of every piece, computed once
 * per registered version of a file and kept in a small LRU cache.
 */
import type { FileHandle } from "node:fs/promises";
import { PIECE_HASH_BYTES, pieceCountFor, pieceSizeFor } from "@p2p/shared";
import { rootHexOfLeaves } from "../files/content-root.ts";
import { sameFile, type FileFingerprint } from "../files/fingerprint.ts";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { hashPieces } from "../files/piece-hashes.ts";
import type { PieceStore } from "../files/piece-store.ts";
import { changedRefusal, openOffered, unreadableRefusal, type Refusal } from "./open-offered.ts";

/** Why a piece map could not be made; `status` is the transfer status to answer with. */
export class PieceMapFailure extends Error {
  readonly status: Refusal["status"];
  constructor(refusal: Refusal) {
    super(refusal.message);
    this.name = "PieceMapFailure";
    this.status = refusal.status;
  }
}

export interface PieceMapsOptions {
  /** Piece maps kept; the least recently used is dropped beyond this. Default 256. */
  maxEntries?: number;
  /** Bytes of digests kept, likewise. Default 64 MiB. */
  maxBytes?: number;
  /** Where maps are kept across restarts and cache evictions; none by default. */
  store?: PieceStore;
}

interface Entry {
  fingerprint: string;
  bytes: number;
  digests: Promise<Buffer>;
}

const fingerprintKey = (file: FileFingerprint): string => `${file.size}:${file.root}:${file.dev}:${file.ino}:${file.mtimeMs}`;

export class PieceMaps {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #store: PieceStore | undefined;
  #bytes = 0;
  #computations = 0;

  constructor(options: PieceMapsOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 256;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#store = options.store;
  }

  /** How many times a file was read to make a piece map (for tests). */
  get computations(): number {
    return this.#computations;
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The count × 32 bytes of piece digests of `file` as registered. Rejects
   * with PieceMapFailure when the file on disk is no longer that version,
   * checked on every call, cached or not.
   */
  async get(file: OfferedFile): Promise<Buffer> {
    const opened = await openOffered(file);
    if ("refusal" in opened) throw new PieceMapFailure(opened.refusal);
    try {
      return await this.#digests(file, opened.handle);
    } finally {
      await opened.handle.close().catch(() => {});
    }
  }

  /**
   * Keeps the piece hashes computed while registering `file`, so its first
   * download needs no second pass over it.
   */
  seed(file: OfferedFile, leaves: Buffer): void {
    const cached = this.#entries.get(file.path);
    if (cached !== undefined) this.#drop(file.path, cached);
    this.#insert(file.path, { fingerprint: fingerprintKey(file), bytes: leaves.length, digests: Promise.resolve(leaves) });
    this.#store?.put(file.root, file.size, leaves).catch(() => {});
  }

  /** Cached, or computed from `handle`, which stays open until the computation settles. */
  #digests(file: OfferedFile, handle: FileHandle): Promise<Buffer> {
    const fingerprint = fingerprintKey(file);
    const cached = this.#entries.get(file.path);
    if (cached !== undefined) {
      this.#drop(file.path, cached);
      if (cached.fingerprint === fingerprint) {
        // Most recently used goes last.
        this.#insert(file.path, cached);
        return cached.digests;
      }
    }

    const entry: Entry = {
      fingerprint,
      bytes: pieceCountFor(file.size, pieceSizeFor(file.size)) * PIECE_HASH_BYTES,
      digests: this.#load(file, handle),
    };
    // A failure is not remembered: the next request tries again.
    entry.digests.catch(() => {
      if (this.#entries.get(file.path) === entry) this.#drop(file.path, entry);
    });
    this.#insert(file.path, entry);
    return entry.digests;
  }

  /** From the store if it kept this content's map, else computed from the file (and then kept). */
  async #load(file: OfferedFile, handle: FileHandle): Promise<Buffer> {
    const kept = await this.#store?.get(file.root, file.size);
    if (kept) return kept;
    this.#computations++;
    const leaves = await computePieceMap(file, handle);
    this.#store?.put(file.root, file.size, leaves).catch(() => {});
    return leaves;
  }

  #insert(path: string, entry: Entry): void {
    this.#entries.set(path, entry);
    this.#bytes += entry.bytes;
    for (const [oldPath, old] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#bytes <= this.#maxBytes) break;
      if (old === entry) break;
      this.#drop(oldPath, old);
    }
  }

  #drop(path: string, entry: Entry): void {
    this.#entries.delete(path);
    this.#bytes -= entry.bytes;
  }
}

/** Reads the file once from `handle` and checks its piece hashes give the registered root. */
async function computePieceMap(file: OfferedFile, handle: FileHandle): Promise<Buffer> {
  const { path, size } = file;
  const changed = (): PieceMapFailure => new PieceMapFailure(changedRefusal(path));
  const leaves = await hashPieces(handle, size);
  if (!Buffer.isBuffer(leaves)) {
    if (leaves.failed === "short") throw changed();
    throw new PieceMapFailure(unreadableRefusal(path, errnoCode(leaves.error)));
  }
  const after = await handle.stat().catch((error: unknown) => {
    throw new PieceMapFailure(unreadableRefusal(path, errnoCode(error)));
  });
  if (!sameFile(file, after) || rootHexOfLeaves(leaves) !== file.root) throw changed();
  return leaves;
}
