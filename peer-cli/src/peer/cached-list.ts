/**
 * A list from the tracker kept in a file of the home, so the peer starts
 * with what the last run knew and downloads never wait for the tracker.
 * Whatever is read back is parsed and validated like any other input.
 */
import { readFile, stat } from "node:fs/promises";
import { writeFileAtomic } from "../files/atomic-write.ts";

export interface ListFormat<T> {
  /** The valid entries of a file's text; malformed ones are left out. */
  parse(text: string): T[];
  serialize(items: readonly T[]): string;
}

export class CachedList<T> {
  readonly file: string;
  readonly #format: ListFormat<T>;
  #items: readonly T[] = [];
  #refreshedAt: Date | null = null;

  constructor(file: string, format: ListFormat<T>) {
    this.file = file;
    this.#format = format;
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

  /** Writes the new list (atomically), then serves it. */
  async replace(items: readonly T[]): Promise<void> {
    await writeFileAtomic(this.file, this.#format.serialize(items));
    this.#items = items;
    this.#refreshedAt = new Date();
  }

  get items(): readonly T[] {
    return this.#items;
  }

  get refreshedAt(): Date | null {
    return this.#refreshedAt;
  }
}
