/**
 * A peer's tracker session cut down to what staying current costs: it says
 * hello, learns the version and asks to be told of changes, then idles:
 * pings that carry its version every 10 s; a CHANGED notice whose change set
 * fits its version is taken as it is, as a peer applies it; any other notice
 * (or a pong with a newer version) makes a pull, one at a time. No files, no
 * disk: the sync benchmark runs a thousand of them in one process.
 */
import { isNewer, parseVersion, pingFor } from "@p2p/shared";
import { JsonSocket, inWaves } from "./json-socket.ts";

const PING_MS = 10_000;

export class SyncClient {
  version = "";
  /** Pulls made after notices or pongs, and the bytes of their replies. */
  pulls = 0;
  pulledBytes = 0;
  /** Notices whose change set was taken without a pull, and their bytes. */
  applied = 0;
  appliedBytes = 0;
  readonly #socket: JsonSocket;
  #pulling = false;
  #again = false;
  #timer: NodeJS.Timeout | undefined;

  private constructor(socket: JsonSocket) {
    this.#socket = socket;
    socket.onPush = (text) => {
      const { v, from, changes } = JSON.parse(text) as { v?: string; from?: string; changes?: unknown };
      if (v === undefined || !isNewer(v, this.version)) return;
      if (changes !== undefined && from !== undefined && this.#fits(from)) {
        this.version = v;
        this.applied++;
        this.appliedBytes += text.length;
      } else void this.#pull();
    };
  }

  static async open(url: string, port: number): Promise<SyncClient> {
    const client = new SyncClient(await JsonSocket.open(url));
    await client.#socket.ok({ type: "hello", port, protocol: 2 });
    // An idle peer read its snapshot long ago; here the smallest page says the version instead.
    client.version = (await client.#socket.ok<{ version: string }>({ type: "list-users", limit: 1 })).version;
    await client.#socket.ok({ type: "sync", since: client.version });
    // Pings spread as peers started at different times would spread them.
    client.#timer = setTimeout(() => client.#ping(), Math.random() * PING_MS);
    return client;
  }

  /** A change set from `from` applies to this client's version: same epoch, not older. */
  #fits(from: string): boolean {
    const a = parseVersion(from);
    const b = parseVersion(this.version);
    return a.epoch === b.epoch && a.seq <= b.seq;
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#socket.close();
  }

  #ping(): void {
    this.#socket.send(pingFor(this.version));
    if (this.#socket.open) this.#timer = setTimeout(() => this.#ping(), PING_MS);
  }

  async #pull(): Promise<void> {
    if (this.#pulling) {
      this.#again = true;
      return;
    }
    this.#pulling = true;
    try {
      do {
        this.#again = false;
        const reply = await this.#socket.request({ type: "sync", since: this.version });
        this.pulls++;
        this.pulledBytes += reply.length;
        const version = (JSON.parse(reply) as { result: { version: string } }).result.version;
        if (isNewer(version, this.version)) this.version = version;
      } while (this.#again);
    } finally {
      this.#pulling = false;
    }
  }
}

export const openSyncClients = (url: string, count: number, firstPort = 30_000): Promise<SyncClient[]> =>
  inWaves(count, (i) => SyncClient.open(url, firstPort + i));
