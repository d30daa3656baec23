/**
 * The change sets a shard was last broadcast, chained by version. Notices
 * are sent at most once a second while the hub broadcasts every few tens of
 * milliseconds, so a notice spans several broadcasts: the chain gives it
 * their change sets folded into one, and answers peers' `sync` from a recent
 * version without asking the hub. Kept in memory only: after a wake-up the
 * chain starts empty and such questions go to the hub.
 */
import type { ChangeSet, Version } from "@p2p/shared";
import type { Change } from "../tracker/sync/change-log.ts";
import { foldChanges } from "../tracker/sync/delta.ts";

/** Broadcasts kept, and their JSON together: seconds of ordinary churn. */
const MAX_LINKS = 256;
const MAX_BYTES = 1024 * 1024;

interface Link {
  from: Version;
  to: Version;
  changes: Change[];
  bytes: number;
}

/**
 * A change set as changes that give the same state when applied in order:
 * departures, then users, then removed files, then files (delta.ts folds
 * them the same way, so sets in a row fold into one).
 */
export function changesOf(set: ChangeSet): Change[] {
  const byUser = <T extends { user: string }>(items: readonly T[]) => {
    const groups = new Map<string, T[]>();
    for (const item of items) groups.set(item.user, [...(groups.get(item.user) ?? []), item]);
    return groups;
  };
  return [
    ...set.goneUsers.map((user): Change => ({ kind: "user-gone", user })),
    ...set.users.map((u): Change => ({ kind: "user", user: u.user, host: u.host, port: u.port, reachable: u.reachable })),
    ...[...byUser(set.goneFiles)].map(([user, gone]): Change => ({ kind: "files-gone", user, paths: gone.map((f) => f.path) })),
    ...[...byUser(set.files)].map(([user, files]): Change => ({ kind: "files", user, files: files.map(({ path, size, root }) => ({ path, size, root })) })),
  ];
}

export class RecentChanges {
  #links: Link[] = [];
  #bytes = 0;
  readonly #folded = new Map<Version, { version: Version; json: string }>();
  /** Changes folded by answers not kept from before: the shard charges them to the socket that asked. */
  folded = 0;

  /** A broadcast from `from` to `to`; without its change set (it was too large) the chain starts over. */
  add(from: Version, to: Version, json: string | null): void {
    this.#folded.clear();
    if (json === null || (this.#links.length > 0 && this.#links.at(-1)!.to !== from)) {
      this.#links = [];
      this.#bytes = 0;
    }
    if (json === null) return;
    this.#links.push({ from, to, changes: changesOf(JSON.parse(json) as ChangeSet), bytes: json.length });
    this.#bytes += json.length;
    while (this.#links.length > MAX_LINKS || (this.#bytes > MAX_BYTES && this.#links.length > 1)) this.#bytes -= this.#links.shift()!.bytes;
  }

  /** The change set from `since` to the newest broadcast, and that broadcast's version; null when the chain does not reach back to `since`. */
  since(since: Version): { version: Version; json: string } | null {
    const cached = this.#folded.get(since);
    if (cached) return cached;
    const start = this.#links.findIndex((link) => link.from === since);
    if (start === -1) return null;
    const changes = this.#links.slice(start).flatMap((link) => link.changes);
    this.folded += changes.length;
    const answer = { version: this.#links.at(-1)!.to, json: JSON.stringify(foldChanges(changes)) };
    this.#folded.set(since, answer);
    return answer;
  }
}
