/**
 * The long-running peer: its mini-server, its tracker connection, the local
 * user map, and the control socket that one-shot commands talk to.
 */
import { stat } from "node:fs/promises";
import {
  checkUserName,
  MAX_FILES_PER_MESSAGE,
  MAX_FILES_PER_USER,
  ProtocolFailure,
  type FileEntry,
  type FileListing,
  type ResultMap,
} from "@p2p/shared";
import type {
  ControlEvent,
  ControlRequest,
  DownloadOutcome,
  RegisterOutcome,
  StatusOutcome,
  UnregisterOutcome,
  UsersOutcome,
} from "../control/protocol.ts";
import { startControlServer } from "../control/control-server.ts";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { fingerprintFile, sameFile } from "../files/fingerprint.ts";
import { OfferedFiles, type OfferedFile } from "../files/offered-files.ts";
import { startMiniServer, type MiniServer } from "../mini-server/server.ts";
import { TrackerClient } from "../tracker/tracker-client.ts";
import { downloadFile } from "../download/download-file.ts";
import { FileIndex } from "./file-index.ts";
import { ensureHome, type Home } from "./home.ts";
import { loadState, StateWriter } from "./saved-state.ts";
import { UserMap } from "./user-map.ts";

export interface PeerOptions {
  home: Home;
  tracker: string;
  /** Mini-server port; 0 picks a free one. */
  port: number;
  /** Address the mini-server binds to. */
  bind: string;
  /** Address advertised to other peers instead of the one the tracker sees. */
  host?: string;
  /** Claims this name on start, before any file is registered. */
  user?: string;
  /** Forget what an earlier run of this home offered. */
  fresh?: boolean;
  refreshSeconds: number;
  log: (line: string) => void;
  /** Caps uploads; tests and benchmarks only. */
  throttleBytesPerSecond?: number;
  /** Serves corrupted pieces; tests only. */
  corruptRanges?: boolean;
  /** How often to ping the tracker; three missed pongs count as a lost connection. */
  pingIntervalMs?: number;
}

/** Tracker refusals that mean this peer cannot have the name it asked for. */
const NAME_ERRORS = new Set(["name-taken", "name-mismatch", "invalid-name"]);

/** Longer than the tracker's heartbeat timeout (45 s), after which a stale connection is gone. */
const NAME_RECLAIM_PATIENCE_MS = 90_000;

/** Files hashed at once when registering many. */
const HASH_CONCURRENCY = 4;

export class Peer {
  readonly options: PeerOptions;
  readonly files = new OfferedFiles();
  readonly userMap: UserMap;
  readonly fileIndex: FileIndex;
  private user: string | null = null;
  private miniServer!: MiniServer;
  private tracker!: TrackerClient;
  private control!: { close(): Promise<void> };
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Whether the tracker has ever accepted this peer's name. */
  private claimed = false;
  /** Since when a reconnect finds the name held by another connection. */
  private contestedSince: number | null = null;
  private readonly state: StateWriter;

  private constructor(options: PeerOptions) {
    this.options = options;
    this.user = options.user ?? null;
    this.userMap = new UserMap(options.home.usersFile);
    this.fileIndex = new FileIndex(options.home.filesFile);
    this.state = new StateWriter(options.home.stateFile);
  }

  static async start(options: PeerOptions): Promise<Peer> {
    const peer = new Peer(options);
    await ensureHome(options.home);
    await Promise.all([peer.userMap.load(), peer.fileIndex.load()]);
    if (!options.fresh) await peer.restore();
    peer.control = await startControlServer(options.home.controlSocket, (request, emit, signal) =>
      peer.handle(request, emit, signal),
    );
    try {
      peer.miniServer = await startMiniServer({
        files: peer.files,
        port: options.port,
        host: options.bind,
        log: options.log,
        ...(options.throttleBytesPerSecond ? { throttleBytesPerSecond: options.throttleBytesPerSecond } : {}),
        ...(options.corruptRanges ? { corruptRanges: true } : {}),
      });
    } catch (error) {
      await peer.control.close();
      throw new PeerError("port-unavailable", `cannot start the mini-server on port ${options.port}: ${errorMessage(error)}`, EXIT.failed);
    }
    options.log(`mini-server listening on ${options.bind}:${peer.miniServer.port}`);
    peer.tracker = new TrackerClient({
      url: options.tracker,
      onConnected: () => peer.announce(),
      log: options.log,
      ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
    });
    try {
      await peer.tracker.start();
    } catch (error) {
      // A name refused on the very first claim is fatal; a name this home held is retried.
      const fatal = error instanceof PeerError && (error.exitCode === EXIT.usage || (NAME_ERRORS.has(error.code) && !peer.claimed));
      if (fatal) {
        await peer.stop();
        throw error;
      }
      options.log(`${errorMessage(error)}; retrying in the background (downloads still work from ${options.home.usersFile})`);
    }
    peer.refreshTimer = setInterval(() => void peer.refreshUsers(), options.refreshSeconds * 1000);
    return peer;
  }

  /** Takes back the name and files an earlier run of this home offered; they are re-checked on connecting. */
  private async restore(): Promise<void> {
    const saved = await loadState(this.options.home.stateFile);
    if (!saved) return;
    if (saved.user !== null && this.options.user !== undefined && saved.user !== this.options.user) {
      throw new PeerError(
        "name-mismatch",
        `this home belongs to "${saved.user}"; start with --user ${saved.user}, or with --fresh to start over as "${this.options.user}"`,
        EXIT.usage,
      );
    }
    this.user = saved.user ?? this.user;
    // The name was ours: a refusal on reconnecting is retried, not fatal.
    this.claimed = saved.user !== null;
    for (const file of saved.files) this.files.add(file);
    if (saved.files.length > 0) this.options.log(`offering again ${saved.files.length} files from the last run (--fresh to start empty)`);
  }

  private saveState(): void {
    void this.state.save({ user: this.user, files: this.files.list() });
  }

  get name(): string | null {
    return this.user;
  }

  get miniServerPort(): number {
    return this.miniServer.port;
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    await Promise.all([this.tracker?.stop(), this.control.close(), this.miniServer?.close()]);
  }

  handle(request: ControlRequest, emit: (event: ControlEvent) => void, signal?: AbortSignal): Promise<unknown> {
    switch (request.cmd) {
      case "register":
        return this.register(request.user, request.paths);
      case "unregister":
        return this.unregister(request.user, request.paths);
      case "list-files":
        return this.listFiles();
      case "users":
        return Promise.resolve(this.users());
      case "status":
        return Promise.resolve(this.status());
      case "download":
        return this.download(request, emit, signal);
    }
  }

  async register(user: string, paths: readonly string[]): Promise<RegisterOutcome> {
    this.checkOwnName(user, "register as");
    this.tracker.ensureConnected();
    const unique = [...new Set(paths)];
    const fresh = unique.filter((p) => !this.files.get(p)).length;
    if (this.files.size + fresh > MAX_FILES_PER_USER) {
      throw new PeerError("too-many-files", `a user may offer at most ${MAX_FILES_PER_USER} files; this would make ${this.files.size + fresh}`);
    }
    const results = await mapLimit(unique, HASH_CONCURRENCY, async (path) => {
      try {
        return { path, file: { path, ...(await fingerprintFile(path)) } };
      } catch (error) {
        return { path, error: errorMessage(error) };
      }
    });
    const failed = results.filter((r) => "error" in r);
    if (failed.length > 0) {
      const lines = failed.map((r) => `  ${r.path}: ${(r as { error: string }).error}`).join("\n");
      throw new PeerError("bad-files", `nothing was registered; ${failed.length} of ${unique.length} files cannot be offered:\n${lines}`);
    }
    return this.offer(user, results.map((r) => (r as { file: OfferedFile }).file));
  }

  async unregister(user: string, paths: readonly string[]): Promise<UnregisterOutcome> {
    checkName(user);
    if (this.user === null) throw new PeerError("unknown-user", "this peer has not registered a name yet");
    if (user !== this.user) throw new PeerError("not-owner", `this peer is "${this.user}"; it cannot unregister files of "${user}"`);
    this.tracker.ensureConnected();
    const unique = [...new Set(paths)];
    // Stop serving first: whatever the tracker says, these are no longer offered.
    for (const path of unique) this.files.remove(path);
    this.saveState();
    const outcome: UnregisterOutcome = { user, removed: [], unknown: [] };
    for (const batch of chunks(unique, MAX_FILES_PER_MESSAGE)) {
      const result = await this.tracker.request("unregister", { user, paths: batch });
      outcome.removed.push(...result.removed);
      outcome.unknown.push(...result.unknown);
    }
    return outcome;
  }

  async listFiles(): Promise<{ files: FileListing[] }> {
    return this.tracker.request("list-files", {});
  }

  users(): UsersOutcome {
    return { users: this.userMap.list(), refreshedAt: this.userMap.refreshedAt?.toISOString() ?? null, file: this.options.home.usersFile };
  }

  status(): StatusOutcome {
    return {
      user: this.user,
      home: this.options.home.dir,
      tracker: this.options.tracker,
      trackerConnected: this.tracker.connected,
      miniServerPort: this.miniServer.port,
      offered: this.files.size,
    };
  }

  async download(
    request: Extract<ControlRequest, { cmd: "download" }>,
    emit: (event: ControlEvent) => void,
    signal?: AbortSignal,
  ): Promise<DownloadOutcome> {
    const started = performance.now();
    const result = await downloadFile(
      { userMap: this.userMap, fileIndex: this.fileIndex, refreshSeconds: this.options.refreshSeconds },
      {
        user: request.user,
        path: request.path,
        save: request.save,
        force: request.force,
        singleSource: request.singleSource,
        self: this.user,
        onProgress: throttled((received, total, sources) => emit({ event: "progress", received, total, sources })),
        onDrop: (report) => {
          this.options.log(`download ${request.path}: dropped source ${report.user}: ${report.dropped}`);
          emit({ event: "dropped", user: report.user, reason: report.dropped ?? "" });
        },
        ...(signal ? { signal } : {}),
      },
    );
    const { file } = result;
    const outcome: DownloadOutcome = {
      user: request.user,
      path: request.path,
      saved: request.save,
      size: file.size,
      sha256: file.sha256,
      seconds: (performance.now() - started) / 1000,
      transferred: result.transferred,
      resumed: result.resumedBytes,
      refetched: result.refetched,
      sources: result.sources,
      registeredAs: null,
    };
    if (this.user !== null) {
      try {
        await this.offer(this.user, [file]);
        outcome.registeredAs = this.user;
      } catch (error) {
        if (error instanceof PeerError && error.code === "tracker-unreachable") {
          // Offered now; announced with everything else when the tracker is back.
          this.files.add(file);
          this.saveState();
          outcome.registerError = `${error.message}; it will be registered when the tracker is back`;
        } else outcome.registerError = errorMessage(error);
      }
    }
    return outcome;
  }

  /** Tells the tracker about files (all-or-nothing per batch), then serves them. */
  private async offer(user: string, files: readonly OfferedFile[]): Promise<RegisterOutcome> {
    let counts = { added: 0, updated: 0, total: this.files.size };
    for (const batch of chunks(files, MAX_FILES_PER_MESSAGE)) {
      const result = await this.tracker.request("register", { user, files: batch.map(entryOf) });
      this.user = user;
      this.claimed = true;
      for (const file of batch) this.files.add(file);
      counts = { added: counts.added + result.added, updated: counts.updated + result.updated, total: result.total };
      this.saveState();
    }
    return { user, files: files.map(entryOf), ...counts };
  }

  /** Runs on every (re)connection: hello, then re-offer what is still offered. */
  private async announce(): Promise<void> {
    await this.tracker.handshake("hello", { port: this.miniServer.port, ...(this.options.host ? { host: this.options.host } : {}) });
    if (this.user !== null) await this.reclaim(this.user);
    await this.refreshMaps((type) => this.tracker.handshake(type, {} as never));
  }

  /**
   * Takes the name back after a (re)connection, with every file still offered.
   * On the first connection a refusal is fatal; later, the peer goes on unnamed.
   */
  private async reclaim(user: string): Promise<void> {
    const current = await this.stillOffered();
    try {
      if (current.length === 0) await this.tracker.handshake("register", { user, files: [] });
      for (const batch of chunks(current, MAX_FILES_PER_MESSAGE)) {
        await this.tracker.handshake("register", { user, files: batch.map(entryOf) });
      }
      this.claimed = true;
      this.contestedSince = null;
    } catch (error) {
      if (!this.claimed || !(error instanceof PeerError) || !NAME_ERRORS.has(error.code)) throw error;
      // Our own previous connection may still hold the name (a half-open socket the
      // tracker has not seen close yet): retry until its heartbeat must have expired.
      this.contestedSince ??= Date.now();
      if (error.code === "name-taken" && Date.now() - this.contestedSince < NAME_RECLAIM_PATIENCE_MS) {
        throw new PeerError("name-taken", `"${user}" is still held by this peer's previous connection; retrying`);
      }
      this.options.log(`lost the name "${user}": ${error.message}; no longer offering its files`);
      this.user = null;
      this.contestedSince = null;
      for (const file of current) this.files.remove(file.path);
    }
    this.saveState();
  }

  /** Drops files deleted since they were offered and re-hashes changed ones. */
  private async stillOffered(): Promise<OfferedFile[]> {
    const kept: OfferedFile[] = [];
    for (const file of this.files.list()) {
      const info = await stat(file.path).catch(() => null);
      if (info && sameFile(file, info)) {
        kept.push(file);
        continue;
      }
      this.files.remove(file.path);
      if (!info) continue;
      try {
        const again = { path: file.path, ...(await fingerprintFile(file.path)) };
        this.files.add(again);
        kept.push(again);
      } catch (error) {
        this.options.log(`no longer offering ${file.path}: ${errorMessage(error)}`);
      }
    }
    return kept;
  }

  private async refreshUsers(): Promise<void> {
    if (!this.tracker.connected) return; // the reconnect refreshes; no need to repeat the outage in the log
    try {
      await this.refreshMaps((type) => this.tracker.request(type, {} as never));
    } catch (error) {
      this.options.log(`could not refresh the user map: ${errorMessage(error)}`);
    }
  }

  /** The user map and the file index, refreshed together so they agree. */
  private async refreshMaps(ask: <T extends "list-users" | "list-files">(type: T) => Promise<ResultMap[T]>): Promise<void> {
    const [{ users }, { files }] = await Promise.all([ask("list-users"), ask("list-files")]);
    await Promise.all([this.userMap.replace(users), this.fileIndex.replace(files)]);
  }

  private checkOwnName(user: string, action: string): void {
    checkName(user);
    if (this.user !== null && this.user !== user) {
      throw new PeerError("name-mismatch", `this peer is registered as "${this.user}"; it cannot ${action} "${user}" (one name per peer)`);
    }
  }
}

function checkName(user: string): void {
  try {
    checkUserName(user);
  } catch (error) {
    if (error instanceof ProtocolFailure) throw new PeerError(error.code, error.message, EXIT.usage);
    throw error;
  }
}

const entryOf = ({ path, size, sha256 }: FileEntry): FileEntry => ({ path, size, sha256 });

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Progress at most every 100 ms, and always the final count. */
function throttled(report: (received: number, total: number, sources: number) => void) {
  let last = 0;
  return (received: number, total: number, sources: number) => {
    const now = performance.now();
    if (received < total && now - last < 100) return;
    last = now;
    report(received, total, sources);
  };
}
