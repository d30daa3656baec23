/**
 * Names of the files a download keeps beside its target (`<save>.part`,
 * `<save>.part.json`, `<save>.part.lock`). A name that would pass the file
 * system's 255-byte limit is replaced by a short hidden one derived from the
 * target's name, so every legal save name works.
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";

const NAME_MAX_BYTES = 255;

export function sideFile(path: string, suffix: string): string {
  const name = basename(path);
  if (Buffer.byteLength(name + suffix) <= NAME_MAX_BYTES) return path + suffix;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 32);
  return join(dirname(path), `.${digest}${suffix}`);
}
