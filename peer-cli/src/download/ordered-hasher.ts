/**
 * The whole-file SHA-256 of pieces that arrive out of order: pieces are fed
 * in order from memory while they are near the front, and the rest is read
 * back from the part file at the end. Memory stays bounded by the window.
 */
import { createHash, type Hash } from "node:crypto";

const WINDOW_BYTES = 16 * 1024 * 1024;

export class OrderedHasher {
  private readonly hash: Hash = createHash("sha256");
  private readonly pending = new Map<number, Buffer>();
  private readonly window: number;
  private cursor = 0;
  private readonly count: number;

  constructor(count: number, pieceSize: number) {
    this.count = count;
    this.window = Math.max(4, Math.floor(WINDOW_BYTES / pieceSize));
  }

  /** `data` may be reused by the caller afterwards: a piece kept for later is copied. */
  add(index: number, data: Buffer): void {
    if (index < this.cursor || this.pending.has(index)) return;
    if (index >= this.cursor + this.window) return; // read back from disk at the end
    if (index === this.cursor) {
      this.hash.update(data);
      this.cursor++;
    } else this.pending.set(index, Buffer.from(data));
    for (let next = this.pending.get(this.cursor); next !== undefined; next = this.pending.get(this.cursor)) {
      this.hash.update(next);
      this.pending.delete(this.cursor);
      this.cursor++;
    }
  }

  async digest(readPiece: (index: number) => Promise<Buffer>): Promise<string> {
    for (; this.cursor < this.count; this.cursor++) {
      this.hash.update(this.pending.get(this.cursor) ?? (await readPiece(this.cursor)));
      this.pending.delete(this.cursor);
    }
    return this.hash.digest("hex");
  }
}
