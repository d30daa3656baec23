/**
 * Piece maps of registered files: the SHA-256 of every piece, computed once
 * per registered version of a file and kept in a small LRU cache.
 */
import { createHash, type Hash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { PIECE_HASH_BYTES, pieceCountFor, pieceSizeFor } from "@p2p/shared";
import { sameFile, type FileFingerprint } from "../files/fingerprint.ts";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
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
}

interface Entry {
  fingerprint: string;
  bytes: number;
  digests: Promise<Buffer>;
}

/** Bytes read at a time; every piece size is a multiple of it. */
const READ_BYTES = 256 * 1024;

const fingerprintKey = (file: FileFingerprint): string => `${file.size}:${file.sha256}:${file.dev}:${file.ino}:${file.mtimeMs}`;

export class PieceMaps {
  readonly #entries = new Map<string, Entry>();
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  #bytes = 0;
  #computations = 0;

  constructor(options: PieceMapsOptions = {}) {
    this.#maxEntries = options.maxEntries ?? 256;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
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

    this.#computations++;
    const entry: Entry = {
      fingerprint,
      bytes: pieceCountFor(file.size, pieceSizeFor(file.size)) * PIECE_HASH_BYTES,
      digests: computePieceMap(file, handle),
    };
    // A failure is not remembered: the next request tries again.
    entry.digests.catch(() => {
      if (this.#entries.get(file.path) === entry) this.#drop(file.path, entry);
    });
    this.#insert(file.path, entry);
    return entry.digests;
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

/** Reads the file once from `handle`, hashing each piece and the whole file. */
async function computePieceMap(file: OfferedFile, handle: FileHandle): Promise<Buffer> {
  const { path, size } = file;
  const changed = (): PieceMapFailure => new PieceMapFailure(changedRefusal(path));
  const unreadable = (error: unknown): PieceMapFailure => new PieceMapFailure(unreadableRefusal(path, errnoCode(error)));

  const pieceSize = pieceSizeFor(size);
  const digests = Buffer.alloc(pieceCountFor(size, pieceSize) * PIECE_HASH_BYTES);
  const whole = createHash("sha256");
  const buffer = Buffer.allocUnsafe(Math.min(READ_BYTES, Math.max(size, 1)));
  let piece: Hash = createHash("sha256");
  let pieceIndex = 0;
  let inPiece = 0;
  let position = 0;
  while (position < size) {
    // Never straddles a piece boundary: piece sizes are multiples of READ_BYTES.
    const want = Math.min(buffer.length, size - position, pieceSize - inPiece);
    const { bytesRead } = await handle.read(buffer, 0, want, position).catch((error: unknown) => {
      throw unreadable(error);
    });
    if (bytesRead === 0) throw changed();
    const bytes = buffer.subarray(0, bytesRead);
    whole.update(bytes);
    piece.update(bytes);
    position += bytesRead;
    inPiece += bytesRead;
    if (inPiece === pieceSize || position === size) {
      piece.digest().copy(digests, pieceIndex * PIECE_HASH_BYTES);
      pieceIndex++;
      piece = createHash("sha256");
      inPiece = 0;
    }
  }

  const after = await handle.stat().catch((error: unknown) => {
    throw unreadable(error);
  });
  if (!sameFile(file, after) || whole.digest("hex") !== file.sha256) throw changed();
  return digests;
}
