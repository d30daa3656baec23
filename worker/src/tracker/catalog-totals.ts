/**
 * The catalog's totals, moved with every file that comes, changes or goes,
 * so the stats and the live page never walk 100,000 entries to count them.
 */
export interface CountedFile {
  size: number;
  root: string;
}

export class CatalogTotals {
  files = 0;
  /**
   * Kept exactly: every size is a safe integer, but their sum need not be, and
   * a float sum that rounded once never comes back to 0 when they leave.
   */
  #bytes = 0n;
  /** How many entries hold each content root: a root is one content while any entry holds it. */
  readonly #holders = new Map<string, number>();

  /** The bytes offered, capped at the largest safe integer so the stats stay a count. */
  get bytes(): number {
    return this.#bytes > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(this.#bytes);
  }

  get contents(): number {
    return this.#holders.size;
  }

  add(file: CountedFile): void {
    this.files++;
    this.#bytes += BigInt(file.size);
    this.#holders.set(file.root, (this.#holders.get(file.root) ?? 0) + 1);
  }

  remove(file: CountedFile): void {
    this.files--;
    this.#bytes -= BigInt(file.size);
    const left = (this.#holders.get(file.root) ?? 1) - 1;
    if (left > 0) this.#holders.set(file.root, left);
    else this.#holders.delete(file.root);
  }

  clear(): void {
    this.files = 0;
    this.#bytes = 0n;
    this.#holders.clear();
  }
}
