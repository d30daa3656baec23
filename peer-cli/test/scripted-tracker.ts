/**
 * A WebSocket tracker whose answers the test writes, one request at a time,
 * for timings the real tracker cannot be held at (a reply delayed in the
 * middle of a handshake). Everything it receives is recorded.
 */
import { PROTOCOL_VERSION, changedNotice, changedNoticeWith, pongFor, type ChangeSet } from "@p2p/shared";
import { WebSocketServer, type WebSocket } from "ws";

export interface Received {
  id: number;
  type: string;
  body: Record<string, unknown>;
  socket: WebSocket;
}

export class ScriptedTracker {
  readonly received: Received[] = [];
  /** The catalog version it is at: versioned pings get it in their pong, and sync answers with it. */
  version = "t-1";
  /** Every versioned ping, as sent. */
  readonly pings: string[] = [];
  readonly sockets: WebSocket[] = [];
  readonly #server: WebSocketServer;
  #waiters: Array<() => void> = [];
  /** Answers requests at once unless a test holds them; `hold(type)` makes the next ones of that type wait. */
  readonly #held = new Set<string>();

  private constructor(server: WebSocketServer) {
    this.#server = server;
    server.on("connection", (socket) => {
      this.sockets.push(socket);
      socket.on("message", (data) => {
        const text = String(data);
        if (text === '{"type":"ping"}') return void socket.send('{"type":"pong"}');
        if (text.startsWith('{"type":"ping"')) {
          this.pings.push(text);
          return void socket.send(pongFor(this.version));
        }
        const body = JSON.parse(text) as Record<string, unknown>;
        const request = { id: Number(body.id), type: String(body.type), body, socket };
        this.received.push(request);
        if (!this.#held.has(request.type)) this.answer(request);
        for (const wake of this.#waiters.splice(0)) wake();
      });
    });
  }

  static async start(): Promise<ScriptedTracker> {
    const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    return new ScriptedTracker(server);
  }

  get url(): string {
    const address = this.#server.address();
    return typeof address === "object" && address !== null ? `ws://127.0.0.1:${address.port}/ws` : "";
  }

  /** Moves to `version` and tells every socket, as the tracker's CHANGED notice does, with the changes since `from` if given. */
  notify(version: string, inline?: { from: string; changes: ChangeSet }): void {
    this.version = version;
    const notice = inline ? changedNoticeWith(version, inline.from, JSON.stringify(inline.changes)) : changedNotice(version);
    for (const socket of this.sockets) socket.send(notice);
  }

  /** Answers a request with this result. */
  reply(request: Received, result: unknown): void {
    request.socket.send(JSON.stringify({ id: request.id, ok: true, result }));
  }

  hold(type: string): void {
    this.#held.add(type);
  }

  release(type: string): void {
    this.#held.delete(type);
  }

  /** The default answers a well-behaved tracker would give. */
  answer(request: Received): void {
    const result = ((): unknown => {
      switch (request.type) {
        case "hello":
          return { host: "127.0.0.1", port: request.body.port, protocol: PROTOCOL_VERSION };
        case "register": {
          const files = Array.isArray(request.body.files) ? request.body.files : [];
          return { user: request.body.user, added: files.length, updated: 0, total: files.length };
        }
        case "list-users":
          return { users: [] };
        case "list-files":
          return { files: [] };
        case "sync":
          // Nothing offered anywhere: unchanged for a peer at this version, an empty snapshot for any other.
          return request.body.since === this.version
            ? { version: this.version, unchanged: true }
            : { version: this.version, snapshot: { users: [], usersNext: null, files: [], filesNext: null } };
        default:
          return {};
      }
    })();
    request.socket.send(JSON.stringify({ id: request.id, ok: true, result }));
  }

  /** Waits until a request matching `match` has arrived (deadline: 10 s). */
  async next(match: (request: Received) => boolean, what: string): Promise<Received> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; received ${this.received.map((r) => r.type).join(", ")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
