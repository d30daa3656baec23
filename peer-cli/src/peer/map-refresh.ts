/**
 * Keeps `users.txt` and `files.json` current: both are refreshed together (so
 * they agree) after every (re)connection and every `refreshSeconds`. One
 * refresh runs at a time: a timer tick that finds one running is skipped,
 * and the reconnect's refresh waits for it, so two never write at once.
 */
import { errorMessage } from "../errors.ts";
import type { TrackerClient } from "../tracker/tracker-client.ts";
import type { FileIndex } from "./file-index.ts";
import type { UserMap } from "./user-map.ts";

type Asker = TrackerClient["request"] | TrackerClient["handshake"];

export interface MapRefreshOptions {
  tracker: TrackerClient;
  userMap: UserMap;
  fileIndex: FileIndex;
  refreshSeconds: number;
  log: (line: string) => void;
}

export class MapRefresh {
  readonly #options: MapRefreshOptions;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(options: MapRefreshOptions) {
    this.#options = options;
  }

  /** Refreshes every `refreshSeconds`, counted from the end of the previous refresh. */
  start(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), this.#options.refreshSeconds * 1000);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  /**
   * Refreshes now, if the tracker is there: for a download naming a user or
   * file the maps do not know yet. Waits for a refresh already running.
   */
  async refreshNow(): Promise<void> {
    const { tracker, log } = this.#options;
    if (!tracker.connected) return;
    await this.#run(tracker.request.bind(tracker)).catch((error: unknown) => log(`could not refresh the user map: ${errorMessage(error)}`));
  }

  /** For the reconnect handshake, whose requests go out before the connection is open to others. */
  duringHandshake(): Promise<void> {
    const { tracker } = this.#options;
    return this.#run(tracker.handshake.bind(tracker));
  }

  async #tick(): Promise<void> {
    const { tracker, log } = this.#options;
    // While disconnected the reconnect refreshes; no need to repeat the outage in the log.
    if (tracker.connected && this.#running === undefined) {
      await this.#run(tracker.request.bind(tracker)).catch((error: unknown) => log(`could not refresh the user map: ${errorMessage(error)}`));
    }
    this.start();
  }

  #run(ask: Asker): Promise<void> {
    const previous = this.#running ?? Promise.resolve();
    const run = previous.catch(() => {}).then(() => this.#refresh(ask));
    this.#running = run;
    const settle = () => {
      if (this.#running === run) this.#running = undefined;
    };
    run.then(settle, settle);
    return run;
  }

  async #refresh(ask: Asker): Promise<void> {
    const { userMap, fileIndex } = this.#options;
    const [{ users }, { files }] = await Promise.all([ask("list-users", {}), ask("list-files", {})]);
    if (this.#stopped) return;
    await Promise.all([userMap.replace(users), fileIndex.replace(files)]);
  }
}
