/**
 * The running peer as its commands see it: one handler per control command,
 * over parts that are already started (start-peer.ts builds and stops them).
 */
import type { FileListing } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import type {
  ControlEvent,
  ControlRequest,
  DownloadOutcome,
  OutcomeMap,
  StatusOutcome,
  UsersOutcome,
} from "../control/protocol.ts";
import { downloadFile, type SourceDirectory } from "../download/download-file.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import type { MiniServer } from "../mini-server/server.ts";
import type { TrackerClient } from "../tracker/tracker-client.ts";
import type { Advertised } from "./advertised-address.ts";
import type { Announcer } from "./announcer.ts";
import type { FileIndex } from "./file-index.ts";
import type { Home } from "./home.ts";
import type { MapRefresh } from "./map-refresh.ts";
import { listFiles, type FileFilter } from "./listing.ts";
import type { Reachability } from "./reachability.ts";
import { registerFiles, unregisterFiles } from "./registration.ts";
import type { UserMap } from "./user-map.ts";

export interface PeerParts {
  home: Home;
  trackerUrl: string;
  refreshSeconds: number;
  tracker: TrackerClient;
  miniServer: MiniServer;
  announcer: Announcer;
  userMap: UserMap;
  fileIndex: FileIndex;
  maps: MapRefresh;
  reachability: Reachability;
  advertised: Advertised;
  log: (line: string) => void;
}

export class Peer {
  readonly #parts: PeerParts;

  constructor(parts: PeerParts) {
    this.#parts = parts;
  }

  get name(): string | null {
    return this.#parts.announcer.name;
  }

  get miniServerPort(): number {
    return this.#parts.miniServer.port;
  }

  /** What this peer offers right now, in path order. */
  offered(): OfferedFile[] {
    return this.#parts.announcer.files.list();
  }

  handle(request: ControlRequest, emit: (event: ControlEvent) => void, signal?: AbortSignal): Promise<OutcomeMap[ControlRequest["cmd"]]> {
    const { announcer, tracker } = this.#parts;
    switch (request.cmd) {
      case "register":
        return registerFiles(announcer, tracker, request.user, request.paths);
      case "unregister":
        return unregisterFiles(announcer, request.user, request.paths);
      case "list-files":
        return this.listFiles(request);
      case "users":
        return Promise.resolve(this.users());
      case "status":
        return Promise.resolve(this.status());
      case "download":
        return this.download(request, emit, signal);
    }
  }

  listFiles(filter: FileFilter): Promise<{ files: FileListing[] }> {
    return listFiles(this.#parts.tracker, filter);
  }

  users(): UsersOutcome {
    const { userMap } = this.#parts;
    return { users: userMap.list(), refreshedAt: userMap.refreshedAt?.toISOString() ?? null, file: userMap.file };
  }

  status(): StatusOutcome {
    const { home, trackerUrl, tracker, miniServer, announcer, reachability, advertised } = this.#parts;
    const { mapping, mapError } = advertised;
    return {
      user: announcer.name,
      home: home.dir,
      tracker: trackerUrl,
      trackerConnected: tracker.connected,
      miniServerPort: miniServer.port,
      offered: announcer.files.size,
      reachability: reachability.state,
      portMapping: mapping
        ? { protocol: mapping.protocol, gateway: mapping.gateway, externalHost: mapping.externalHost, externalPort: mapping.externalPort, leaseSeconds: mapping.leaseSeconds }
        : mapError !== null
          ? { error: mapError }
          : null,
    };
  }

  async download(
    request: Extract<ControlRequest, { cmd: "download" }>,
    emit: (event: ControlEvent) => void,
    signal?: AbortSignal,
  ): Promise<DownloadOutcome> {
    const { userMap, fileIndex, refreshSeconds, announcer, log, maps } = this.#parts;
    // A user or file registered since the last refresh: ask once more before saying it is unknown.
    if (!userMap.find(request.user) || !fileIndex.find(request.user, request.path)) await maps.refreshNow();
    if (userMap.find(request.user) && !fileIndex.find(request.user, request.path)) {
      // Without the listed root there is nothing to prove the bytes against: say why, and what helps.
      const when = fileIndex.refreshedAt ? `refreshed ${Math.round((Date.now() - fileIndex.refreshedAt.getTime()) / 1000)} s ago` : "not refreshed yet";
      const tracker = this.#parts.tracker.connected ? "check the path with list-files" : "the tracker is unreachable, so it cannot be refreshed now; try again once it is back";
      throw new PeerError("not-found", `${request.path} is not offered by ${request.user} in the local file index (${when}): ${tracker}`, EXIT.downloadFailed);
    }
    const directory: SourceDirectory = {
      lookup: (user) => userMap.lookup(user, refreshSeconds),
      find: (user) => userMap.find(user),
      listing: (user, path) => fileIndex.find(user, path),
      holders: (root, size) => fileIndex.holders(root, size),
    };
    const started = performance.now();
    const result = await downloadFile(directory, {
      user: request.user,
      path: request.path,
      save: request.save,
      force: request.force,
      singleSource: request.singleSource,
      self: announcer.name,
      onProgress: everyTenthOfASecond((received, total, sources) => emit({ event: "progress", received, total, sources })),
      onDrop: (report) => {
        log(`download ${request.path}: dropped source ${report.user}: ${report.dropped}`);
        emit({ event: "dropped", user: report.user, reason: report.dropped ?? "" });
      },
      ...(signal ? { signal } : {}),
    });
    const registered = await announcer.offerDownloaded(result.file, result.leaves);
    return {
      user: request.user,
      path: request.path,
      saved: result.file.path,
      size: result.file.size,
      root: result.file.root,
      seconds: (performance.now() - started) / 1000,
      transferred: result.transferred,
      resumed: result.resumedBytes,
      refetched: result.refetched,
      sources: result.sources,
      ...registered,
    };
  }
}

/** Progress at most every 100 ms, and always the final count. */
function everyTenthOfASecond(report: (received: number, total: number, sources: number) => void) {
  let last = 0;
  return (received: number, total: number, sources: number) => {
    const now = performance.now();
    if (received < total && now - last < 100) return;
    last = now;
    report(received, total, sources);
  };
}
