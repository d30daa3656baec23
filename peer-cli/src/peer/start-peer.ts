/**
 * Builds a running peer from its parts, each started before the next needs
 * it, and stops them in reverse: the home, the cached maps and the saved
 * state; the mini-server; the control socket; then the tracker connection.
 * A part that fails to start stops the ones already running.
 */
import { PROTOCOL_VERSION } from "@p2p/shared";
import { startControlServer, type ControlServer } from "../control/control-server.ts";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { OfferedFiles } from "../files/offered-files.ts";
import { takeLock, type HeldLock } from "../files/pid-lock.ts";
import { PieceStore } from "../files/piece-store.ts";
import { PieceMaps } from "../mini-server/piece-maps.ts";
import { startMiniServer, type MiniServer } from "../mini-server/server.ts";
import { TOKEN_ERRORS } from "../tracker/access-token.ts";
import { TrackerClient } from "../tracker/tracker-client.ts";
import { advertisedAddress, type PortMapRequest } from "./advertised-address.ts";
import { Announcer } from "./announcer.ts";
import { FileIndex } from "./file-index.ts";
import { secureHome, type Home } from "./home.ts";
import { MapRefresh } from "./map-refresh.ts";
import { Peer } from "./peer.ts";
import { Reachability } from "./reachability.ts";
import { loadState } from "./saved-state.ts";
import { UserMap } from "./user-map.ts";

export interface PeerOptions {
  home: Home;
  tracker: string;
  /** The tracker's access token, if it needs one. */
  token?: string;
  /** Mini-server port; 0 picks a free one. */
  port: number;
  /** Address the mini-server binds to; by default every address, IPv6 and IPv4. */
  bind?: string;
  /** Address advertised to other peers instead of the one the tracker sees. */
  host?: string;
  /** Ask the router to forward a public port to the mini-server (--port-map). */
  portMap?: PortMapRequest;
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

export interface RunningPeer {
  peer: Peer;
  /** Stops every part; safe to call more than once. */
  stop(): Promise<void>;
}

export async function startPeer(options: PeerOptions): Promise<RunningPeer> {
  const { home, log } = options;
  for (const note of await secureHome(home)) log(note);
  const homeLock = await lockHome(home);
  const userMap = new UserMap(home.usersFile);
  const fileIndex = new FileIndex(home.filesFile, (error) => log(`could not write ${home.filesFile}: ${errorMessage(error)}`));
  await Promise.all([userMap.load(), fileIndex.load()]);
  const saved = options.fresh ? null : await loadState(home.stateFile, log);

  const stops: Array<() => Promise<void> | void> = [() => homeLock.release()];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const files = new OfferedFiles();
    const store = new PieceStore(home.piecesDir);
    const pieceMaps = new PieceMaps({ store });
    const miniServer = await startMiniServerOn(options, files, pieceMaps);
    stops.push(() => miniServer.close());
    log(`mini-server listening on ${miniServer.address}`);
    const reachability = new Reachability(miniServer.port, log);
    const advertised = await advertisedAddress(miniServer.port, options.host, options.portMap, log);
    const { mapping } = advertised;
    if (mapping) stops.push(() => mapping.stop());

    // Runs on every (re)connection: hello, then the name and files, then fresh maps.
    const announce = async (): Promise<void> => {
      await tracker.handshake("hello", { port: advertised.port, protocol: PROTOCOL_VERSION, ...(advertised.host ? { host: advertised.host } : {}) });
      await announcer.reclaim();
      await maps.duringHandshake();
    };
    const tracker = new TrackerClient({
      url: options.tracker,
      route: () => announcer.routeName,
      ...(options.token !== undefined ? { token: options.token } : {}),
      log,
      onConnected: announce,
      onReady: () => {
        void announcer.flush();
        maps.caughtUp();
      },
      onReachability: (report) => reachability.update(report),
      // Pings carry the version the maps are at; a newer one, from a pong or a notice, is caught up with.
      pingVersion: () => maps.version,
      onVersion: (version, notice) => maps.noticed(version, notice),
      ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
    });
    const announcer = new Announcer({ files, pieceMaps, tracker, stateFile: home.stateFile, log, ...(options.user ? { user: options.user } : {}) });
    if (saved) await announcer.restore(saved);
    await store.keepOnly(announcer.files.list());
    const maps = new MapRefresh({ tracker, userMap, fileIndex, refreshSeconds: options.refreshSeconds, log });

    const peer = new Peer({ home, trackerUrl: options.tracker, refreshSeconds: options.refreshSeconds, tracker, miniServer, announcer, userMap, fileIndex, maps, reachability, advertised, log });
    const control: ControlServer = await startControlServer(home.controlSocket, (request, emit, signal) => peer.handle(request, emit, signal));
    stops.push(() => control.close());

    stops.push(() => tracker.stop());
    stops.push(() => maps.stop());
    try {
      await tracker.start();
    } catch (error) {
      // A refused token is for the user to fix, not for the background retries.
      if (announcer.isFatal(error) || (error instanceof PeerError && TOKEN_ERRORS.has(error.code))) throw error;
      log(`${errorMessage(error)}; retrying in the background (downloads still work from ${home.usersFile})`);
    }
    maps.start();
    let stopping: Promise<void> | undefined;
    return { peer, stop: () => (stopping ??= stopAll()) };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** One peer per home: two would both write its state and fight over its control socket. */
async function lockHome(home: Home): Promise<HeldLock> {
  const attempt = await takeLock(home.lockFile);
  if ("held" in attempt) return attempt.held;
  const who = attempt.holder ? ` (process ${attempt.holder.pid} on ${attempt.holder.host})` : "";
  throw new PeerError("already-running", `a peer is already running with this home${who}; use another --home`, EXIT.failed);
}

async function startMiniServerOn(options: PeerOptions, files: OfferedFiles, pieceMaps: PieceMaps): Promise<MiniServer> {
  try {
    return await startMiniServer({
      files,
      pieceMaps,
      port: options.port,
      ...(options.bind !== undefined ? { host: options.bind } : {}),
      log: options.log,
      ...(options.throttleBytesPerSecond ? { throttleBytesPerSecond: options.throttleBytesPerSecond } : {}),
      ...(options.corruptRanges ? { corruptRanges: true } : {}),
    });
  } catch (error) {
    throw new PeerError("port-unavailable", `cannot start the mini-server on port ${options.port}: ${errorMessage(error)}`, EXIT.failed);
  }
}
