/**
 * Answers `sync`: unchanged, the changes since the asked-for version, or a
 * snapshot (the first page of each listing). After a notice every watching
 * peer asks at about the same moment, mostly from the same version, so each
 * answer is kept until the version moves and then served as it is.
 */
import { MAX_PAGE_LIMIT, parseVersion, type Reachable, type Version } from "@p2p/shared";
import type { ChangeLog } from "./change-log.ts";
import { foldChanges } from "./delta.ts";
import { PAGE_ENTRY_BYTES, filesPage, usersPage } from "../paging.ts";
import type { TrackerStore } from "../store.ts";

/** Distinct answers kept for one version, and their bytes together; peers are rarely more than a few versions apart. */
const MAX_CACHED = 64;
const MAX_CACHED_BYTES = 8 * 1024 * 1024;

export class SyncAnswers {
  readonly #store: () => TrackerStore;
  readonly #log: ChangeLog;
  #cachedFor: Version | null = null;
  readonly #cache = new Map<string, string>();
  #cachedBytes = 0;
  /** Changes read by folds so far: the tracker charges each fold to the socket that asked. */
  folded = 0;

  readonly #reachableOf: (user: string) => Reachable;

  /** `store` is asked for when needed: the tracker opens its store on first use. */
  constructor(store: () => TrackerStore, log: ChangeLog, reachableOf: (user: string) => Reachable) {
    this.#store = store;
    this.#log = log;
    this.#reachableOf = reachableOf;
  }

  /** The result's JSON. `since` was checked to be a well-formed version. */
  answer(since: Version | undefined): string {
    const version = this.#log.version;
    const versionJson = JSON.stringify(version);
    if (since === version) return `{"version":${versionJson},"unchanged":true}`;
    const changes = since === undefined ? null : this.changesJson(since);
    if (changes !== null) return `{"version":${versionJson},"changes":${changes}}`;
    return this.#cached("snapshot", () => this.#snapshot(versionJson));
  }

  /** The change set from `since` to now, as JSON; null when the log cannot tell (another epoch, too old, or ahead). */
  changesJson(since: Version): string | null {
    const seq = this.#loggedSeq(since);
    return seq === null ? null : this.#fold(since, seq);
  }

  /**
   * For a notice: the change set since `since` when it may fit in one, or
   * null, without folding, when the changes logged since take more than
   * `maxBytes` four times over (a fold rarely shrinks them that much; peers
   * then pull, which costs one request, not a wrong answer).
   */
  smallChangesJson(since: Version, maxBytes: number): string | null {
    const seq = this.#loggedSeq(since);
    return seq === null || this.#log.bytesSince(seq, 4 * maxBytes) > 4 * maxBytes ? null : this.#fold(since, seq);
  }

  /** The seq of `since` when the log can bring a copy at it up to date. */
  #loggedSeq(since: Version): number | null {
    const { epoch, seq } = parseVersion(since);
    return epoch === this.#log.epoch && this.#log.covers(seq) ? seq : null;
  }

  #fold(since: Version, seq: number): string {
    return this.#cached(`changes ${since}`, () => {
      const changes = this.#log.since(seq) ?? [];
      this.folded += changes.length;
      return JSON.stringify(foldChanges(changes));
    });
  }

  /** Kept until the version moves. */
  #cached(key: string, make: () => string): string {
    const version = this.#log.version;
    if (this.#cachedFor !== version || this.#cache.size >= MAX_CACHED || this.#cachedBytes > MAX_CACHED_BYTES) {
      this.#cache.clear();
      this.#cachedBytes = 0;
      this.#cachedFor = version;
    }
    let json = this.#cache.get(key);
    if (json === undefined) {
      json = make();
      this.#cache.set(key, json);
      this.#cachedBytes += json.length;
    }
    return json;
  }

  #snapshot(versionJson: string): string {
    // Two pages in one reply, each with half the room of one.
    const users = usersPage(this.#store(), { limit: MAX_PAGE_LIMIT }, this.#reachableOf, PAGE_ENTRY_BYTES / 2);
    const files = filesPage(this.#store(), { limit: MAX_PAGE_LIMIT }, PAGE_ENTRY_BYTES / 2);
    return `{"version":${versionJson},"snapshot":{"users":${users.json},"usersNext":${JSON.stringify(users.next)},"files":${files.json},"filesNext":${JSON.stringify(files.next)}}}`;
  }
}
