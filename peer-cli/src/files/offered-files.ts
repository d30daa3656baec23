/** The files this peer's user has registered, as they were when registered. */
import type { FileFingerprint } from "./fingerprint.ts";

export interface OfferedFile extends FileFingerprint {
  /** Absolute, exactly as the user registered it; the mini-server matches it byte for byte. */
  path: string;
}

export class OfferedFiles {
  readonly #byPath = new Map<string, OfferedFile>();

  /** Replaces any earlier entry for the same path, so re-registering refreshes the fingerprint. */
  add(file: OfferedFile): void {
    this.#byPath.set(file.path, file);
  }

  remove(path: string): boolean {
    return this.#byPath.delete(path);
  }

  get(path: string): OfferedFile | undefined {
    return this.#byPath.get(path);
  }

  list(): OfferedFile[] {
    return [...this.#byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  get size(): number {
    return this.#byPath.size;
  }
}
