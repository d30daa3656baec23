/**
 * The tracker's file list as of the last refresh, cached in `<home>/files.json`.
 * Downloads find every holder of the same content here, without asking the tracker.
 */
import { readFile } from "node:fs/promises";
import { checkFileEntry, checkUserName, type FileListing } from "@p2p/shared";
import { writeFileAtomic } from "../files/atomic-write.ts";

export class FileIndex {
  private files: FileListing[] = [];
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** Starts from the index a previous run left; entries are validated like any input. */
  async load(): Promise<void> {
    try {
      const value: unknown = JSON.parse(await readFile(this.file, "utf8"));
      if (!Array.isArray(value)) return;
      this.files = value.flatMap((entry) => {
        try {
          return [{ user: checkUserName((entry as { user: unknown }).user), ...checkFileEntry(entry) }];
        } catch {
          return [];
        }
      });
    } catch {
      // No usable earlier index: start empty.
    }
  }

  async replace(files: readonly FileListing[]): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(files));
    this.files = [...files];
  }

  find(user: string, path: string): FileListing | undefined {
    return this.files.find((f) => f.user === user && f.path === path);
  }

  /** Everyone offering exactly this content, in index order. */
  holders(sha256: string, size: number): FileListing[] {
    return this.files.filter((f) => f.sha256 === sha256 && f.size === size);
  }
}
