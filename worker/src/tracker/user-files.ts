/**
 * One user's files, keyed by path, and what listing them needs, kept until
 * they change: the entries in path order with each entry's JSON. The whole
 * listing and every page are cut from these, so a change re-serialises
 * nothing but the entries it touched, and the user's order is sorted again
 * only when that user's files changed.
 */
import { utf8Length } from "@p2p/shared";

export interface FileRow {
  size: number;
  root: string;
  /** The entry as the listing writes it, made on first use; a new row replaces the old one on every change. */
  json?: string;
  /** Its UTF-8 length. */
  bytes?: number;
  /** The path in lower case, made when a `q` filter first looks at it. */
  lower?: string;
}

export interface ListedFile {
  path: string;
  row: FileRow & { json: string; bytes: number };
}

const byPath = (a: ListedFile, b: ListedFile) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export class UserFiles extends Map<string, FileRow> {
  readonly user: string;
  #sorted: ListedFile[] | null = null;
  #chunk: string | null = null;

  constructor(user: string) {
    super();
    this.user = user;
  }

  override set(path: string, row: FileRow): this {
    this.#sorted = null;
    this.#chunk = null;
    return super.set(path, row);
  }

  override delete(path: string): boolean {
    const had = super.delete(path);
    if (had) {
      this.#sorted = null;
      this.#chunk = null;
    }
    return had;
  }

  /** The entries in path order, each with its JSON. */
  sorted(): readonly ListedFile[] {
    if (this.#sorted === null) {
      const listed: ListedFile[] = [];
      for (const [path, row] of this) {
        row.json ??= JSON.stringify({ user: this.user, path, size: row.size, root: row.root });
        row.bytes ??= utf8Length(row.json);
        listed.push({ path, row: row as ListedFile["row"] });
      }
      this.#sorted = listed.sort(byPath);
    }
    return this.#sorted;
  }

  /** Every entry's JSON, comma-separated: this user's stretch of the full listing. */
  chunk(): string {
    this.#chunk ??= this.sorted()
      .map((file) => file.row.json)
      .join(",");
    return this.#chunk;
  }
}

/** The first index in `files` whose path comes after `path`. */
export function indexAfter(files: readonly ListedFile[], path: string): number {
  let low = 0;
  let high = files.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (files[mid]!.path <= path) low = mid + 1;
    else high = mid;
  }
  return low;
}
