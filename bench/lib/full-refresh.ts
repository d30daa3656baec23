/**
 * The behaviour before versions, for comparison in the same run: a peer that
 * asks for list-users and the whole list-files every period, whether or not
 * anything changed. Its pings were answered by the runtime for free; here
 * they carry the version the tracker is armed with, which costs the same
 * (nothing), and keep it from being dropped by the heartbeat.
 */
import { pingFor } from "@p2p/shared";
import { JsonSocket, inWaves } from "./json-socket.ts";

const PING_MS = 10_000;

export class FullRefresher {
  refreshes = 0;
  /** When a refresh first listed the user given to `watchFor` (performance.now()). */
  seenAt: number | null = null;
  readonly #socket: JsonSocket;
  readonly #timers: NodeJS.Timeout[] = [];
  #stopped = false;
  #watched: string | null = null;

  private constructor(socket: JsonSocket) {
    this.#socket = socket;
  }

  static async open(url: string): Promise<FullRefresher> {
    return new FullRefresher(await JsonSocket.open(url));
  }

  /** Refreshes every `periodMs`, the first after `phaseMs`; pings with `version` if given. */
  start(periodMs: number, phaseMs: number, version?: string): void {
    const refresh = async () => {
      if (this.#stopped) return;
      const users = await this.#socket.request({ type: "list-users" });
      if (this.#watched !== null && this.seenAt === null && users.includes(`"user":${JSON.stringify(this.#watched)}`)) this.seenAt = performance.now();
      await this.#socket.request({ type: "list-files" });
      this.refreshes++;
      if (!this.#stopped) this.#timers.push(setTimeout(() => void refresh(), periodMs));
    };
    this.#timers.push(setTimeout(() => void refresh(), phaseMs));
    if (version === undefined) return;
    const ping = () => {
      if (this.#stopped) return;
      this.#socket.send(pingFor(version));
      this.#timers.push(setTimeout(ping, PING_MS));
    };
    this.#timers.push(setTimeout(ping, Math.random() * PING_MS));
  }

  /** Notes when a refresh first lists `user`. */
  watchFor(user: string): void {
    this.#watched = user;
    this.seenAt = null;
  }

  close(): void {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#socket.close();
  }
}

export const openRefreshers = (url: string, count: number): Promise<FullRefresher[]> => inWaves(count, () => FullRefresher.open(url));
