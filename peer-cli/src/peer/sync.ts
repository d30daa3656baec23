/**
 * The peer's copy of the tracker's catalog, brought up to date with `sync`:
 * nothing when the version is unchanged, the change set otherwise, and only
 * when the tracker cannot tell what changed (the first time, after a tracker
 * restart, or after too long away) a snapshot, read in pages so that no
 * reply is catalog-sized. Pages are read while the catalog may move; the
 * changes since the snapshot's version, asked for right after, settle them
 * (shared/src/sync.ts).
 */
import { Catalog, MAX_PAGE_LIMIT, parseVersion, type ChangedNotice, type RequestBody, type ResultMap, type Touched, type Version } from "@p2p/shared";
import { PeerError } from "../errors.ts";

/** A request to the tracker: the client's `request`, or its `handshake` while reconnecting. */
export type Ask = <T extends "sync" | "list-users" | "list-files">(type: T, body: Omit<RequestBody<T>, "type">) => Promise<ResultMap[T]>;

/** Snapshots in a row before giving up for now: only a catalog changing faster than its pages can be read needs more than one. */
const MAX_SNAPSHOTS = 3;

export class CatalogSync {
  #catalog = new Catalog();
  #version: Version | null = null;
  /** What changed since the files were last written: kept here, so a pull that fails halfway loses none of it. */
  #unwritten: Touched = { users: false, files: false };

  get version(): Version | null {
    return this.#version;
  }

  get catalog(): Catalog {
    return this.#catalog;
  }

  /** What changed since the last call (or since the start: a first snapshot changes both). */
  takeUnwritten(): Touched {
    const unwritten = this.#unwritten;
    this.#unwritten = { users: false, files: false };
    return unwritten;
  }

  /** A write of what `takeUnwritten` gave failed: the next write tries again. */
  stillUnwritten(touched: Touched): void {
    this.#mark(touched);
  }

  #mark(touched: Touched): void {
    this.#unwritten = { users: this.#unwritten.users || touched.users, files: this.#unwritten.files || touched.files };
  }

  /**
   * Applies a notice's change set if it fits this copy: same epoch, and the
   * copy at a version from the notice's `from` up to its `v`. Returns false
   * when it does not (the copy is older, or of another epoch): then pull.
   */
  applyNotice(notice: ChangedNotice): boolean {
    if (this.#version === null || notice.from === undefined || notice.changes === undefined) return false;
    const known = parseVersion(this.#version);
    const from = parseVersion(notice.from);
    const to = parseVersion(notice.v);
    if (known.epoch !== from.epoch || from.epoch !== to.epoch || known.seq < from.seq) return false;
    if (known.seq >= to.seq) return true;
    this.#mark(this.#catalog.apply(notice.changes));
    this.#version = notice.v;
    return true;
  }

  /** Brings the copy up to date; what changed is kept for `takeUnwritten`. */
  async pull(ask: Ask): Promise<void> {
    for (let snapshots = 0; ; ) {
      const answer = await ask("sync", this.#version === null ? {} : { since: this.#version });
      if ("unchanged" in answer) {
        this.#version = answer.version;
        return;
      }
      if ("changes" in answer) {
        this.#mark(this.#catalog.apply(answer.changes));
        this.#version = answer.version;
        return;
      }
      if (++snapshots > MAX_SNAPSHOTS) throw new PeerError("sync-failed", `the tracker's catalog kept changing while ${MAX_SNAPSHOTS} snapshots were read; trying again later`);
      const { snapshot } = answer;
      const catalog = new Catalog();
      catalog.addUsers(snapshot.users);
      catalog.addFiles(snapshot.files);
      for (let next = snapshot.usersNext; next !== null; ) {
        const page = await ask("list-users", { cursor: next, limit: MAX_PAGE_LIMIT });
        catalog.addUsers(page.users);
        next = page.next ?? null;
      }
      for (let next = snapshot.filesNext; next !== null; ) {
        const page = await ask("list-files", { cursor: next, limit: MAX_PAGE_LIMIT });
        catalog.addFiles(page.files);
        next = page.next ?? null;
      }
      // Swapped in whole: a snapshot cut short by a lost connection leaves the old copy as it was.
      this.#catalog = catalog;
      this.#version = answer.version;
      this.#mark({ users: true, files: true });
      // One reply is the catalog at its version; pages read later may be newer, and the next sync settles them.
      if (snapshot.usersNext === null && snapshot.filesNext === null) return;
    }
  }
}
