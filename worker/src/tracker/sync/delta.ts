/**
 * Folds a run of changes into one change set: each user and file named once,
 * with its last state. A user that left at some point is listed as gone (a
 * peer then drops every file it had), and only what it did after its last
 * departure is kept, so the set applied to any copy from the run's start
 * gives the state at its end (shared/src/sync.ts).
 */
import type { ChangeSet, FileListing, ListedUser } from "@p2p/shared";
import type { Change } from "./change-log.ts";

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function foldChanges(changes: readonly Change[]): ChangeSet {
  const users = new Map<string, ListedUser | null>();
  const gone = new Set<string>();
  /** Per user, each path's last state since the user's last departure: a listing, or null for removed. */
  const files = new Map<string, Map<string, FileListing | null>>();
  const filesOf = (user: string) => {
    let mine = files.get(user);
    if (!mine) files.set(user, (mine = new Map()));
    return mine;
  };
  for (const change of changes) {
    switch (change.kind) {
      case "user":
        users.set(change.user, { user: change.user, host: change.host, port: change.port, reachable: change.reachable ?? null });
        break;
      case "user-gone":
        gone.add(change.user);
        users.set(change.user, null);
        files.delete(change.user);
        break;
      case "files": {
        const mine = filesOf(change.user);
        for (const file of change.files) mine.set(file.path, { user: change.user, path: file.path, size: file.size, root: file.root });
        break;
      }
      case "files-gone": {
        const mine = filesOf(change.user);
        // After a departure nothing from before is left to remove.
        for (const path of change.paths) if (gone.has(change.user)) mine.delete(path);
        else mine.set(path, null);
        break;
      }
    }
  }
  const set: ChangeSet = { goneUsers: [...gone].sort(byKey), goneFiles: [], users: [], files: [] };
  for (const user of [...users.keys()].sort(byKey)) {
    const address = users.get(user);
    if (address) set.users.push(address);
  }
  for (const user of [...files.keys()].sort(byKey)) {
    const mine = files.get(user)!;
    for (const path of [...mine.keys()].sort(byKey)) {
      const listing = mine.get(path);
      if (listing) set.files.push(listing);
      else set.goneFiles.push({ user, path });
    }
  }
  return set;
}
