/**
 * `list-files` as a peer asks it: filtered on the tracker and read in pages,
 * so no reply is catalog-sized however much matches.
 */
import { MAX_PAGE_LIMIT, type FileListing, type ListFilesResult } from "@p2p/shared";
import type { TrackerClient } from "../tracker/tracker-client.ts";

export interface FileFilter {
  /** Only this user's files. */
  user?: string;
  /** Only paths containing this text, ignoring case. */
  match?: string;
  /** Only files with this content root. */
  root?: string;
}

export async function listFiles(tracker: TrackerClient, filter: FileFilter): Promise<{ files: FileListing[] }> {
  const query = {
    ...(filter.user !== undefined ? { user: filter.user } : {}),
    ...(filter.match !== undefined ? { q: filter.match } : {}),
    ...(filter.root !== undefined ? { root: filter.root } : {}),
    limit: MAX_PAGE_LIMIT,
  };
  const files: FileListing[] = [];
  for (let cursor: string | null = null; ; ) {
    const page: ListFilesResult = await tracker.request("list-files", cursor === null ? query : { ...query, cursor });
    files.push(...page.files);
    cursor = page.next ?? null;
    if (cursor === null) return { files };
  }
}
