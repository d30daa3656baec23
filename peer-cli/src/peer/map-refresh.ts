/**
 * Keeps `users.txt` and `files.json` current from the tracker's versions
 * (sync.ts): after every (re)connection, within a second of every change
 * (the tracker's CHANGED notice, which usually carries the changes, or a
 * pong that carries a newer version than this peer knows), and every
 * `refreshSeconds` as a safety net, which also rewrites `users.txt`. Both
 * files are written from one copy of the catalog after each update, so they
 * always agree. One update runs at a time, and notices that come during it
 * make one more, not one each: the files have one writer.
 *
 * An up-to-date peer costs the tracker nothing while idle: its pings carry
 * its version and are answered by the runtime, and the safety net asks only
 * when a pong told of a newer version that no pull has fetched yet.
 */
import { isNewer, parseVersion, type ChangedNotice, type Version } from "@p2p/shared";
import { errorMessage } from "../errors.ts";
import type { TrackerClient } from "../tracker/tracker-client.ts";
import type { FileIndex } from "./file-index.ts";
import { CatalogSync, type Ask } from "./sync.ts";
import type { UserMap } from "./user-map.ts";

export interface MapRefreshOptions {
  tracker: TrackerClient;
  userMap: UserMap;
  fileIndex: FileIndex;
  refreshSeconds: number;
  log: (line: string) => void;
}

export class MapRefresh {
  readonly #options: MapRefreshOptions;
  readonly #sync = new CatalogSync();
  #running: Promise<void> | undefined;
  /** A notice came while an update ran: one more update follows it. */
  #again = false;
  /** Notices with change sets, not applied yet, oldest first. */
  #notices: ChangedNotice[] = [];
  /** The newest version the tracker told of. */
  #trackerVersion: Version | null = null;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: MapRefreshOptions) {
    this.#options = options;
  }

  /** The version this peer's maps are at, for its pings. */
  get version(): Version | null {
    return this.#sync.version;
  }

  /** Runs the safety net every `refreshSeconds`, counted from the end of the previous one. */
  start(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#options.refreshSeconds * 1000);
  }

  /** Stops, and writes files.json if a paced write is still waiting. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#options.fileIndex.flush();
  }

  /**
   * Brings the maps up to date now, if the tracker is there: for a download
   * naming a user or file the maps do not know yet. Waits for a pull already running.
   */
  async refreshNow(): Promise<void> {
    if (!this.#options.tracker.connected) return;
    await this.#run(() => this.#update(this.#request, true)).catch((error: unknown) => this.#failed(error));
  }

  /** For the reconnect handshake, whose requests go out before the connection is open to others. */
  duringHandshake(): Promise<void> {
    const { tracker } = this.#options;
    return this.#run(() => this.#update(tracker.handshake.bind(tracker) as Ask, true));
  }

  /** The tracker told of `version` (a pong, or a notice that may carry the changes): catches up if it is newer than the maps. */
  noticed(version: Version, notice?: ChangedNotice): void {
    if (this.#trackerVersion === null || isNewer(version, this.#trackerVersion)) this.#trackerVersion = version;
    // A peer cut off from the tracker for long gets notices no more; past a few, a pull is cheaper anyway.
    if (notice?.changes !== undefined && this.#notices.push(notice) > 64) this.#notices = [];
    this.#catchUp();
  }

  /** After the handshake: a notice that came during it is pulled now. */
  caughtUp(): void {
    this.#catchUp();
  }

  #catchUp(): void {
    if (this.#stopped || !this.#options.tracker.connected || !this.#behind()) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    void this.#run(() => this.#update(this.#request, false)).catch((error: unknown) => this.#failed(error));
  }

  #behind(): boolean {
    return this.#trackerVersion !== null && (this.#sync.version === null || isNewer(this.#trackerVersion, this.#sync.version));
  }

  readonly #request: Ask = (type, body) => this.#options.tracker.request(type, body);

  async #tick(): Promise<void> {
    const { tracker, userMap } = this.#options;
    // While disconnected the reconnect pulls; no need to repeat the outage in the log.
    if (tracker.connected && this.#running === undefined) {
      const check = () => (this.#sync.version === null || this.#behind() ? this.#update(this.#request, false) : userMap.replace(this.#sync.catalog.userList()));
      await this.#run(check).catch((error: unknown) => this.#failed(error));
    }
    this.start();
  }

  #failed(error: unknown): void {
    if (!this.#stopped) this.#options.log(`could not refresh the user map: ${errorMessage(error)}`);
  }

  #run(task: () => Promise<void>): Promise<void> {
    const previous = this.#running ?? Promise.resolve();
    const run = previous.catch(() => {}).then(task);
    this.#running = run;
    const settle = () => {
      if (this.#running !== run) return;
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.#catchUp();
      }
    };
    run.then(settle, settle);
    return run;
  }

  /**
   * Applies the notices' change sets that fit, then asks the tracker if it
   * must (a handshake, a download's refresh), if one did not fit, or if the
   * maps are still behind; then writes what changed.
   */
  async #update(ask: Ask, mustAsk: boolean): Promise<void> {
    try {
      for (const notice of this.#notices.splice(0)) {
        if (!this.#sync.applyNotice(notice)) {
          // Older than the notice's start, or another epoch: the pull brings what the rest would.
          mustAsk = true;
          break;
        }
      }
      if (mustAsk || this.#sync.version === null || this.#behind()) {
        await this.#sync.pull(ask);
        this.#pulled();
      }
    } finally {
      // Whatever did change is written, even when the pull failed halfway (a snapshot in, its settling lost).
      if (!this.#stopped) await this.#write();
    }
  }

  /**
   * A pull answers with the tracker's version of that moment: a version told
   * before it, of an epoch since gone (the tracker restarted), must not keep
   * the maps looking behind.
   */
  #pulled(): void {
    const version = this.#sync.version;
    const told = this.#trackerVersion;
    if (version === null) return;
    if (told === null || parseVersion(told).epoch !== parseVersion(version).epoch || !isNewer(told, version)) this.#trackerVersion = version;
  }

  /** Writes both files from the one copy, where it changed since the last write. */
  async #write(): Promise<void> {
    const { userMap, fileIndex } = this.#options;
    const catalog = this.#sync.catalog;
    const unwritten = this.#sync.takeUnwritten();
    try {
      await Promise.all([
        unwritten.users ? userMap.replace(catalog.userList()) : undefined,
        unwritten.files ? fileIndex.replace(catalog.fileList()) : undefined,
      ]);
    } catch (error) {
      this.#sync.stillUnwritten(unwritten);
      throw error;
    }
  }
}
