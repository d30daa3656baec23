/**
 * Opens a registered file to serve it, only if it is still the file that was
 * registered; otherwise says, as a transfer answer, why it is refused. Every
 * answer that reads a file (get, range, pieces) goes through here.
 */
import type { FileHandle } from "node:fs/promises";
import { sameFile } from "../files/fingerprint.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { openRegularFile } from "../files/open-regular.ts";

/** Why a registered file is not served: `changed` (modified, replaced, gone) or `error` (cannot be read). */
export interface Refusal {
  status: "changed" | "error";
  message: string;
}

export const changedRefusal = (path: string): Refusal => ({
  status: "changed",
  message: `${path} changed on disk since it was registered; its owner must register it again`,
});

export const unreadableRefusal = (path: string, code: string): Refusal => ({
  status: "error",
  message: `the peer cannot read ${path}: ${code}`,
});

/** The open handle (the caller closes it), or the refusal to answer with. */
export async function openOffered(offered: OfferedFile): Promise<{ handle: FileHandle } | { refusal: Refusal }> {
  const opened = await openRegularFile(offered.path, (stats) => sameFile(offered, stats));
  if (opened.ok) return { handle: opened.handle };
  const unreadable = opened.problem === "denied" || opened.problem === "unreadable";
  return { refusal: unreadable ? unreadableRefusal(offered.path, opened.code) : changedRefusal(offered.path) };
}
