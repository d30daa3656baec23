/**
 * Keeps the tracker's view of this peer equal to what it offers: the peer's
 * one name, its offered files (the registry the mini-server serves from),
 * the saved state a restart starts from, and everything announced again
 * after each reconnect, including what was offered while the tracker was away.
 */
import { MAX_FILES_PER_MESSAGE, type FileEntry } from "@p2p/shared";
import type { RegisterOutcome, UnregisterOutcome } from "../control/protocol.ts";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import type { OfferedFile, OfferedFiles } from "../files/offered-files.ts";
import type { TrackerClient } from "../tracker/tracker-client.ts";
import { chunks } from "./batching.ts";
import type { PieceMaps } from "../mini-server/piece-maps.ts";
import { hashPaths, recheckFiles, type Recheck } from "./recheck.ts";
import { saveState, type SavedState } from "./saved-state.ts";

/** Tracker refusals that mean this peer cannot have the name it asked for. */
const NAME_ERRORS: ReadonlySet<string> = new Set(["name-taken", "name-mismatch", "invalid-name"]);

/** Longer than the tracker's heartbeat timeout (45 s), after which a stale connection is gone. */
const NAME_RECLAIM_PATIENCE_MS = 90_000;

const entryOf = ({ path, size, root }: FileEntry): FileEntry => ({ path, size, root });

export interface AnnouncerOptions {
  /** The registry the mini-server serves from. */
  files: OfferedFiles;
  /** The mini-server's piece maps: files hashed here seed it, so serving them needs no second pass. */
  pieceMaps: PieceMaps;
  tracker: TrackerClient;
  stateFile: string;
  log: (line: string) => void;
  /** The name asked for with --user, if any. */
  user?: string;
}

export class Announcer {
  readonly files: OfferedFiles;
  readonly #pieceMaps: PieceMaps;
  readonly #tracker: TrackerClient;
  readonly #stateFile: string;
  readonly #log: (line: string) => void;
  #user: string | null;
  /** Whether the tracker has ever accepted this peer's name. */
  #claimed = false;
  /** Since when a reconnect finds the name held by another connection. */
  #contestedSince: number | null = null;
  /** Paths offered while the tracker could not be told; announced once it can. */
  readonly #unannounced = new Set<string>();
  /** A name being claimed from a connection on another shard: the next connection is routed by it. */
  #claiming: string | null = null;

  constructor(options: AnnouncerOptions) {
    this.files = options.files;
    this.#pieceMaps = options.pieceMaps;
    this.#tracker = options.tracker;
    this.#stateFile = options.stateFile;
    this.#log = options.log;
    this.#user = options.user ?? null;
  }

  get name(): string | null {
    return this.#user;
  }

  /** The name a connection is routed by (a sharded tracker keeps each name on one shard): this peer's, or the one it is claiming. */
  get routeName(): string | null {
    return this.#user ?? this.#claiming;
  }

  /** A refusal of the name on the very first claim is fatal; a name this home held before is retried. */
  isFatal(error: unknown): boolean {
    return error instanceof PeerError && (error.exitCode === EXIT.usage || (NAME_ERRORS.has(error.code) && !this.#claimed));
  }

  /**
   * Takes back the name and files an earlier run of this home offered; they
   * are re-checked on connecting. Files saved by an older version are hashed
   * again now, before anything is offered.
   */
  async restore(saved: SavedState): Promise<void> {
    if (saved.user !== null && this.#user !== null && saved.user !== this.#user) {
      throw new PeerError(
        "name-mismatch",
        `this home belongs to "${saved.user}"; start with --user ${saved.user}, or with --fresh to start over as "${this.#user}"`,
        EXIT.usage,
      );
    }
    this.#user = saved.user ?? this.#user;
    // The name was ours: a refusal on reconnecting is retried, not fatal.
    this.#claimed = saved.user !== null;
    for (const file of saved.files) this.files.add(file);
    if (saved.stale.length > 0) {
      this.#log(`hashing again ${saved.stale.length} files saved by an older version`);
      this.#take(await hashPaths(saved.stale));
    }
    if (this.files.size > 0) this.#log(`offering again ${this.files.size} files from the last run (--fresh to start empty)`);
  }

  /** Refuses a second name: one peer, one name. */
  checkOwnName(user: string, action: string): void {
    if (this.#user !== null && this.#user !== user) {
      throw new PeerError("name-mismatch", `this peer is registered as "${this.#user}"; it cannot ${action} "${user}" (one name per peer)`);
    }
  }

  /**
   * Tells the tracker about files (all-or-nothing per batch), then serves
   * them; `leaves` are piece hashes already computed for some of them.
   */
  async offer(user: string, files: readonly OfferedFile[], leaves: ReadonlyMap<string, Buffer> = new Map()): Promise<RegisterOutcome> {
    let counts = { added: 0, updated: 0, total: this.files.size };
    for (const batch of chunks(files, MAX_FILES_PER_MESSAGE)) {
      const result = await this.#register(user, batch.map(entryOf));
      this.#user = user;
      this.#claimed = true;
      for (const file of batch) {
        this.files.add(file);
        this.#unannounced.delete(file.path);
        const known = leaves.get(file.path);
        if (known) this.#pieceMaps.seed(file, known);
      }
      counts = { added: counts.added + result.added, updated: counts.updated + result.updated, total: result.total };
      this.#save();
    }
    return { user, files: files.map(entryOf), ...counts };
  }

  /**
   * A register; a sharded tracker whose shard does not hold the name says
   * `wrong-shard`, and the peer moves its connection to the name's shard
   * (reconnecting with `?user=`) and asks again, once.
   */
  async #register(user: string, files: FileEntry[]) {
    try {
      return await this.#tracker.request("register", { user, files });
    } catch (error) {
      if (!(error instanceof PeerError) || error.code !== "wrong-shard" || this.#user !== null) throw error;
      this.#claiming = user;
      try {
        await this.#tracker.reconnect();
        return await this.#tracker.request("register", { user, files });
      } finally {
        this.#claiming = null;
      }
    }
  }

  /**
   * Offers a file this peer just downloaded. Without a tracker it is served at
   * once and announced when the tracker is back (even mid-reconnect).
   */
  async offerDownloaded(file: OfferedFile, leaves: Buffer): Promise<{ registeredAs: string | null; registerError?: string }> {
    const user = this.#user;
    if (user === null) return { registeredAs: null };
    try {
      await this.offer(user, [file], new Map([[file.path, leaves]]));
      return { registeredAs: user };
    } catch (error) {
      if (!(error instanceof PeerError) || error.code !== "tracker-unreachable") return { registeredAs: null, registerError: errorMessage(error) };
      this.files.add(file);
      this.#pieceMaps.seed(file, leaves);
      this.#unannounced.add(file.path);
      this.#save();
      return { registeredAs: null, registerError: `${error.message}; it will be registered when the tracker is back` };
    }
  }

  /** Stops serving the files at once, then tells the tracker. Every path must be one this peer offers. */
  async withdraw(user: string, paths: readonly string[]): Promise<UnregisterOutcome> {
    if (this.#user === null) throw new PeerError("unknown-user", "this peer has not registered a name yet");
    if (user !== this.#user) throw new PeerError("not-owner", `this peer is "${this.#user}"; it cannot unregister files of "${user}"`);
    const unique = [...new Set(paths)];
    const notOffered = unique.filter((path) => !this.files.get(path));
    if (notOffered.length > 0) {
      throw new PeerError(
        "not-offered",
        `nothing was unregistered; ${notOffered.length} of ${unique.length} paths are not offered by ${user}:\n${notOffered.map((p) => `  ${p}`).join("\n")}`,
      );
    }
    this.#tracker.ensureConnected();
    for (const path of unique) {
      this.files.remove(path);
      this.#unannounced.delete(path);
    }
    this.#save();
    for (const batch of chunks(unique, MAX_FILES_PER_MESSAGE)) await this.#tracker.request("unregister", { user, paths: batch });
    return { user, removed: unique };
  }

  /**
   * Runs inside each (re)connection's handshake: takes the name back with
   * every file still offered, re-checked first. On the first connection a
   * refusal is fatal; later, the peer goes on unnamed.
   */
  async reclaim(): Promise<void> {
    const user = this.#user;
    if (user === null) return;
    const current = await this.#recheck();
    // Everything current goes out now; what arrives during the handshake is flushed once it is done.
    this.#unannounced.clear();
    try {
      if (current.length === 0) await this.#tracker.handshake("register", { user, files: [] });
      for (const batch of chunks(current, MAX_FILES_PER_MESSAGE)) {
        await this.#tracker.handshake("register", { user, files: batch.map(entryOf) });
      }
      this.#claimed = true;
      this.#contestedSince = null;
    } catch (error) {
      for (const file of current) this.#unannounced.add(file.path);
      if (!this.#claimed || !(error instanceof PeerError) || !NAME_ERRORS.has(error.code)) throw error;
      // Our own previous connection may still hold the name (a half-open socket the
      // tracker has not seen close yet): retry until its heartbeat must have expired.
      this.#contestedSince ??= Date.now();
      if (error.code === "name-taken" && Date.now() - this.#contestedSince < NAME_RECLAIM_PATIENCE_MS) {
        throw new PeerError("name-taken", `"${user}" is still held by this peer's previous connection; retrying`);
      }
      this.#log(`lost the name "${user}": ${error.message}; no longer offering its files`);
      this.#user = null;
      this.#contestedSince = null;
      this.#unannounced.clear();
      for (const file of current) this.files.remove(file.path);
    }
    this.#save();
  }

  /** Announces what was offered while the tracker was away; runs once requests flow again. */
  async flush(): Promise<void> {
    const user = this.#user;
    const files = [...this.#unannounced].flatMap((path) => this.files.get(path) ?? []);
    if (user === null || files.length === 0) return;
    try {
      await this.offer(user, files);
    } catch (error) {
      this.#log(`could not announce ${files.length} files yet: ${errorMessage(error)}; retrying on the next reconnect`);
    }
  }

  /** Drops files gone since they were offered and re-hashes changed ones. */
  async #recheck(): Promise<OfferedFile[]> {
    const checked = await recheckFiles(this.files.list());
    // Unregistered while it was being checked: stays unregistered.
    return this.#take(checked.filter((outcome) => "dropped" in outcome || this.files.get(outcome.file.path)));
  }

  /** Applies re-checks to the registry: drops what is gone, keeps (and seeds) what was hashed. */
  #take(outcomes: readonly Recheck[]): OfferedFile[] {
    const kept: OfferedFile[] = [];
    for (const outcome of outcomes) {
      if ("dropped" in outcome) {
        this.files.remove(outcome.path);
        this.#log(`no longer offering ${outcome.path}: ${outcome.dropped}`);
        continue;
      }
      this.files.add(outcome.file);
      if (outcome.leaves) this.#pieceMaps.seed(outcome.file, outcome.leaves);
      kept.push(outcome.file);
    }
    return kept;
  }

  #save(): void {
    saveState(this.#stateFile, { user: this.#user, files: this.files.list() }).catch((error: unknown) => {
      this.#log(`could not save ${this.#stateFile}: ${errorMessage(error)}`);
    });
  }
}
