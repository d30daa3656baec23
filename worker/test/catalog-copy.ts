/** A peer's copy of the catalog, kept by sync alone, as the tests of one object and of shards keep it. */
import { Catalog, type SyncResult } from "@p2p/shared";
import type { TrackerSocket } from "./tracker-socket.ts";

export interface Copy {
  catalog: Catalog;
  version: string;
}

export const sync = (socket: TrackerSocket, since?: string): Promise<SyncResult> => socket.ok("sync", since === undefined ? {} : { since });

/** Brings a copy up to date as a peer does: a change set, or a snapshot and its further pages, then what changed meanwhile. */
export async function update(socket: TrackerSocket, copy: Copy | null): Promise<Copy> {
  const answer = await sync(socket, copy?.version);
  if ("unchanged" in answer) return { catalog: copy!.catalog, version: answer.version };
  if ("changes" in answer) {
    copy!.catalog.apply(answer.changes);
    return { catalog: copy!.catalog, version: answer.version };
  }
  const catalog = new Catalog();
  catalog.addUsers(answer.snapshot.users);
  catalog.addFiles(answer.snapshot.files);
  for (let next = answer.snapshot.usersNext; next !== null; ) {
    const page = await socket.ok("list-users", { cursor: next });
    catalog.addUsers(page.users);
    next = page.next;
  }
  for (let next = answer.snapshot.filesNext; next !== null; ) {
    const page = await socket.ok("list-files", { cursor: next });
    catalog.addFiles(page.files);
    next = page.next;
  }
  // Pages were read while the catalog may have moved: the changes since the first page settle it.
  return update(socket, { catalog, version: answer.version });
}
