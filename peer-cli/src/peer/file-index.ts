/**
 * The tracker's file list as of the last refresh (`<home>/files.json`).
 * Downloads find every holder of the same content here, without asking the tracker.
 */
import { checkFileEntry, checkUserName, expectObject, type FileListing } from "@p2p/shared";
import { CachedList } from "./cached-list.ts";

/**
 * How fast files.json may be rewritten, on average. A notice a second at a
 * 100,000-entry catalog (16 MB) would otherwise rewrite 16 MB a second; this
 * way a catalog that large is written every 4 s at most, a small one at once.
 */
const PACE_BYTES_PER_SECOND = 4 * 1024 * 1024;

function parseListing(text: string): FileListing[] {
  const value: unknown = JSON.parse(text);
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry) => {
    try {
      return [{ user: checkUserName(expectObject(entry, "a file listing").user), ...checkFileEntry(entry) }];
    } catch {
      return [];
    }
  });
}

export class FileIndex {
  readonly #list: CachedList<FileListing>;

  /** `onWriteError`: a rewrite of the file failed; the index in memory is current all the same. */
  constructor(file: string, onWriteError: (error: unknown) => void = () => {}) {
    this.#list = new CachedList(file, { parse: parseListing, serialize: (files) => JSON.stringify(files) }, { paceBytesPerSecond: PACE_BYTES_PER_SECOND, onError: onWriteError });
  }

  load(): Promise<void> {
    return this.#list.load();
  }

  replace(files: readonly FileListing[]): Promise<void> {
    return this.#list.replace(files);
  }

  /** Writes what is waiting for its turn; on stop. */
  flush(): Promise<void> {
    return this.#list.flush();
  }

  get refreshedAt(): Date | null {
    return this.#list.refreshedAt;
  }

  find(user: string, path: string): FileListing | undefined {
    return this.#list.items.find((f) => f.user === user && f.path === path);
  }

  /** Everyone offering exactly this content, in index order. */
  holders(root: string, size: number): FileListing[] {
    return this.#list.items.filter((f) => f.root === root && f.size === size);
  }
}
