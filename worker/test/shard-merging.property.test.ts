/**
 * The sharded tracker's two pure pieces, by property:
 * - a shard's chain of broadcast change sets (recent-changes.ts): from any
 *   version in it, its folded answer brings a copy at that version to the
 *   newest state, as applying every set in turn would;
 * - merged pages (merge.ts): shards answering the same query from the same
 *   cursor, some stopping early as a scan bound makes them, merge into pages
 *   that visit every entry of the union exactly once, in listing order.
 */
import fc from "fast-check";
import { Catalog, fileCursor, readFileCursor, type ChangeSet, type FileListing } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { mergeFilesPages } from "../src/shards/merge.ts";
import { RecentChanges } from "../src/shards/recent-changes.ts";
import type { Change } from "../src/tracker/sync/change-log.ts";
import { foldChanges } from "../src/tracker/sync/delta.ts";
import type { Page } from "../src/tracker/paging.ts";

const USERS = ["ann", "bo", "cy"];
const PATHS = ["/a", "/b", "/c"];
const root = (n: number) => String(n).repeat(64).slice(0, 64);

const change: fc.Arbitrary<Change> = fc.oneof(
  fc.record({ kind: fc.constant("user" as const), user: fc.constantFrom(...USERS), host: fc.constant("127.0.0.1"), port: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant("user-gone" as const), user: fc.constantFrom(...USERS) }),
  fc.record({
    kind: fc.constant("files" as const),
    user: fc.constantFrom(...USERS),
    files: fc.uniqueArray(fc.record({ path: fc.constantFrom(...PATHS), size: fc.nat(9), root: fc.nat(9).map(root) }), { selector: (f) => f.path, minLength: 1 }),
  }),
  fc.record({ kind: fc.constant("files-gone" as const), user: fc.constantFrom(...USERS), paths: fc.subarray(PATHS, { minLength: 1 }) }),
);

/** The state a run of changes leaves, as a peer's copy holds it. */
function stateAfter(start: Catalog, sets: readonly ChangeSet[]): { users: unknown[]; files: unknown[] } {
  const copy = new Catalog();
  copy.addUsers(start.userList());
  copy.addFiles(start.fileList());
  for (const set of sets) copy.apply(set);
  return { users: copy.userList(), files: copy.fileList() };
}

describe("a shard's chain of broadcasts", () => {
  it("brings a copy at any version in it to the newest state in one folded set", () => {
    fc.assert(
      fc.property(fc.array(fc.array(change, { maxLength: 6 }), { minLength: 1, maxLength: 8 }), fc.nat(), (batches, pick) => {
        const sets = batches.map((batch) => foldChanges(batch));
        const chain = new RecentChanges();
        sets.forEach((set, i) => chain.add(`e-${i}`, `e-${i + 1}`, JSON.stringify(set)));
        const from = pick % sets.length;
        // The copy a peer holds at version e-<from>: every set before it applied.
        const copy = new Catalog();
        for (const set of sets.slice(0, from)) copy.apply(set);
        const answer = chain.since(`e-${from}`);
        expect(answer?.version).toBe(`e-${sets.length}`);
        expect(stateAfter(copy, [JSON.parse(answer!.json) as ChangeSet])).toEqual(stateAfter(copy, sets.slice(from)));
      }),
    );
  });

  it("does not answer across a broadcast whose change set it never got", () => {
    const chain = new RecentChanges();
    chain.add("e-0", "e-1", JSON.stringify(foldChanges([{ kind: "user", user: "ann", host: "h", port: 1 }])));
    chain.add("e-1", "e-2", null);
    chain.add("e-2", "e-3", JSON.stringify(foldChanges([])));
    expect(chain.since("e-0")).toBeNull();
    expect(chain.since("e-2")?.version).toBe("e-3");
  });
});

/** One shard's answer to a page query, cut as paging.ts cuts it: `limit` entries, or fewer when `scanBound` entries were looked at. */
function shardPage(entries: readonly FileListing[], after: string | undefined, limit: number, scanBound: number): Page {
  const key = after === undefined ? null : readFileCursor(after);
  const rest = entries.filter((e) => key === null || e.user > key.user || (e.user === key.user && e.path > key.path));
  const looked = rest.slice(0, Math.min(limit, scanBound));
  const more = rest.length > looked.length;
  const last = looked.at(-1);
  return { json: JSON.stringify(looked), next: more && last ? fileCursor(last) : null };
}

describe("pages merged from every shard", () => {
  it("visit every entry once, in order, however the shards stop early", () => {
    const entry = fc.record({ user: fc.constantFrom("a", "b", "c", "d", "e", "f"), path: fc.constantFrom("/1", "/2", "/3", "/4", "/5") });
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: (e) => `${e.user}${e.path}`, maxLength: 30 }), fc.integer({ min: 1, max: 7 }), fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 4, maxLength: 4 }), (keys, limit, bounds) => {
        const listing = keys.map((k) => ({ ...k, size: 1, root: root(1) })).sort((a, b) => (a.user + a.path < b.user + b.path ? -1 : 1));
        // A user lives wholly on one shard, as names hash to shards.
        const shards = [0, 1, 2, 3].map((s) => listing.filter((e) => e.user.charCodeAt(0) % 4 === s));
        const seen: FileListing[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 200; pages++) {
          const page = mergeFilesPages(shards.map((entries, s) => shardPage(entries, cursor, limit, bounds[s]!)), limit, 1 << 20);
          seen.push(...(JSON.parse(page.json) as FileListing[]));
          if (page.next === null) break;
          cursor = page.next;
        }
        expect(seen).toEqual(listing);
      }),
    );
  });
});
