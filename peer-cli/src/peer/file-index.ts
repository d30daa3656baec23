/**
 * The tracker's file list as of the last refresh (`<home>/files.json`).
 * Downloads find every holder of the same content here, without asking the tracker.
 */
import { checkFileEntry, checkUserName, expectObject, type FileListing } from "@p2p/shared";
import { CachedList } from "./cached-list.ts";

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

  constructor(file: string) {
    this.#list = new CachedList(file, { parse: parseListing, serialize: (files) => JSON.stringify(files) });
  }

  load(): Promise<void> {
    return this.#list.load();
  }

  replace(files: readonly FileListing[]): Promise<void> {
    return this.#list.replace(files);
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
