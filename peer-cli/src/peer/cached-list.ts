/**
 * A list from the tracker kept in a file of the home, so the peer starts
 * with what the last run knew and downloads never wait for the tracker.
 * Whatever is read back is parsed and validated like any other input.
 *
 * A large list that changes often (the file index of a big catalog, told of
 * a change every second) can be paced: the list in memory, which downloads
 * use, is current at once, and the file is rewritten with the latest list
 * no faster than `paceBytesPerSecond` on average, so the disk's cost does
 * not grow with the catalog times the changes.
 */
import { readFile, stat } from "node:fs/promises";
import { writeFileAtomic } from "../files/atomic-write.ts";

export interface ListFormat<T> {
  /** The valid entries of a file's text; malformed ones are left out. */
  parse(text: string): T[];
  serialize(items: readonly T[]): string;
}

export interface Pacing {
  /** After a write of B bytes, the next waits B / this many seconds. */
  paceBytesPerSecond: number;
  /** A paced write failed (the list in memory is still current). */
  onError: (error: unknown) => void;
}

export class CachedList<T> {
  readonly file: string;
  readonly #format: ListFormat<T>;
  readonly #pacing: Pacing | undefined;
  #items: readonly T[] = [];
  #refreshedAt: Date | null = null;
  /** Paced: the list not yet written, the timer that will, and when the next write may start. */
  #unwritten: readonly T[] | null = null;
  #timer: NodeJS.Timeout | undefined;
  #nextWriteAt = 0;
  #writing: Promise<void> = Promise.resolve();

  constructor(file: string, format: ListFormat<T>, pacing?: Pacing) {
    this.file = file;
    this.#format = format;
    this.#pacing = pacing;
  }

  /** Starts from the file a previous run left, if it is readable. */
  async load(): Promise<void> {
    try {
      const [text, info] = await Promise.all([readFile(this.file, "utf8"), stat(this.file)]);
      this.#items = this.#format.parse(text);
      this.#refreshedAt = info.mtime;
    } catch {
      // No usable earlier list: start empty.
    }
  }

  /** Writes the new list (atomically), then serves it; paced, serves it at once and writes it when its turn comes. */
  async replace(items: readonly T[]): Promise<void> {
    if (this.#pacing === undefined) {
      await writeFileAtomic(this.file, this.#format.serialize(items));
    } else {
      this.#unwritten = items;
      this.#timer ??= setTimeout(() => void this.#writePaced(), Math.max(0, this.#nextWriteAt - Date.now())).unref();
    }
    this.#items = items;
    this.#refreshedAt = new Date();
  }

  /** Writes a list still waiting for its turn now, and waits for any write under way. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    await this.#writePaced();
  }

  #writePaced(): Promise<void> {
    this.#timer = undefined;
    const items = this.#unwritten;
    this.#unwritten = null;
    const pacing = this.#pacing;
    if (items !== null && pacing !== undefined) {
      const text = this.#format.serialize(items);
      this.#nextWriteAt = Date.now() + (Buffer.byteLength(text) / pacing.paceBytesPerSecond) * 1000;
      this.#writing = writeFileAtomic(this.file, text).catch(pacing.onError);
    }
    return this.#writing;
  }

  get items(): readonly T[] {
    return this.#items;
  }

  get refreshedAt(): Date | null {
    return this.#refreshedAt;
  }
}
