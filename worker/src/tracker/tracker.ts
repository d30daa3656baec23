/**
 * The single Durable Object that knows who is online and what they offer.
 * Sockets are accepted with the hibernation API: the object may be evicted
 * while they stay open, so nothing here lives only in memory.
 */
import { DurableObject } from "cloudflare:workers";
import {
  PING,
  PONG,
  ProtocolFailure,
  parseRequest,
  type FileListing,
  type ListedUser,
  type RequestType,
  type TrackerReply,
  type TrackerRequest,
} from "@p2p/shared";
import { commands, type CommandContext } from "./commands.ts";
import { readConnection, writeConnection, type Connection } from "./connection.ts";
import { DEFAULT_PROBE_LIMITS, Reachability } from "./reachability.ts";
import { Serialized } from "./serialized.ts";
import { TrackerStore } from "./store.ts";

/** The worker passes the peer's address to the object in this header. */
export const PEER_HOST_HEADER = "X-P2P-Peer-Host";

/**
 * A peer that has not pinged for this long is gone even if its socket never
 * closed (a killed machine, a cut network). Peers ping every 10 s.
 */
const DEFAULT_HEARTBEAT_TIMEOUT_MS = 45_000;

export class Tracker extends DurableObject {
  private readonly store: TrackerStore;
  private readonly reachability: Reachability;

  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    this.store = new TrackerStore(ctx.storage.sql, (fn) => ctx.storage.transactionSync(fn));
    const probeTimeout = Number(env.PROBE_TIMEOUT_MS);
    this.reachability = new Reachability(() => ctx.getWebSockets(), {
      ...DEFAULT_PROBE_LIMITS,
      ...(Number.isFinite(probeTimeout) && probeTimeout > 0 ? { timeoutMs: probeTimeout } : {}),
      loopbackOnly: env.PROBE_LOOPBACK_ONLY === "1",
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    // On every start, fresh or after eviction: users without a live socket are ghosts.
    this.store.dropUsersExcept(this.liveUsers());
  }

  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426 });
    }
    const seenHost = request.headers.get(PEER_HOST_HEADER) ?? "127.0.0.1";
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    writeConnection(server, { conn: crypto.randomUUID(), seenHost, host: seenHost, port: null, user: null, since: Date.now() });
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + this.sweepInterval());
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The heartbeat sweep: closes sockets whose peer stopped pinging, and forgets their users. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    const timeout = this.heartbeatTimeout();
    const sockets = this.ctx.getWebSockets();
    for (const ws of sockets) {
      const connection = readConnection(ws);
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      if (!connection || now - Math.max(pinged, connection.since) <= timeout) continue;
      this.forget(ws);
      try {
        ws.close(4001, "no heartbeat");
      } catch {
        // Already closing.
      }
    }
    if (this.ctx.getWebSockets().length > 0) await this.ctx.storage.setAlarm(now + this.sweepInterval());
  }

  private heartbeatTimeout(): number {
    const configured = Number(this.env.HEARTBEAT_TIMEOUT_MS);
    return Number.isFinite(configured) && configured > 0 ? configured : DEFAULT_HEARTBEAT_TIMEOUT_MS;
  }

  private sweepInterval(): number {
    return Math.max(100, Math.floor(this.heartbeatTimeout() / 3));
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const connection = readConnection(ws);
    if (!connection) return;
    const parsed = parseRequest(message);
    const reply = parsed.ok ? this.run(ws, connection, parsed.request) : { id: parsed.id, ok: false as const, error: parsed.error };
    ws.send(
      reply.ok && reply.result instanceof Serialized
        ? `{"id":${JSON.stringify(reply.id)},"ok":true,"result":${reply.result.json}}`
        : JSON.stringify(reply),
    );
    // After the hello's answer: the probe's result follows when it is known.
    if (reply.ok && parsed.ok && parsed.request.type === "hello") this.reachability.check(ws);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.forget(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed: nothing left to do.
    }
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    this.forget(ws);
  }

  /** For the HTTP API. */
  listFiles(): FileListing[] {
    return this.store.listFiles();
  }

  listUsers(): ListedUser[] {
    return this.reachability.listUsers(this.store);
  }

  private run(ws: WebSocket, connection: Connection, request: TrackerRequest): TrackerReply {
    const context: CommandContext = {
      store: this.store,
      connection,
      save: (next) => writeConnection(ws, next),
      isLive: (conn) => this.liveConnections().has(conn),
      usersJson: () => this.reachability.listUsersJson(this.store),
    };
    try {
      const handler = commands[request.type] as (ctx: CommandContext, req: TrackerRequest) => unknown;
      return { id: request.id, ok: true, result: handler(context, request) };
    } catch (error) {
      if (error instanceof ProtocolFailure) return { id: request.id, ok: false, error: error.toJSON() };
      console.error(`tracker: ${request.type as RequestType} failed`, error);
      return { id: request.id, ok: false, error: { code: "internal", message: "the tracker failed; nothing was changed" } };
    }
  }

  /** Removes the socket's user and every file it offered. */
  private forget(ws: WebSocket): void {
    const connection = readConnection(ws);
    if (connection) this.reachability.forget(connection.conn);
    if (connection?.user && this.store.holderOf(connection.user) === connection.conn) {
      this.store.dropUser(connection.user);
    }
  }

  /** conn id → user name, for every open socket that holds a name. */
  private liveUsers(): Map<string, string> {
    const live = new Map<string, string>();
    for (const ws of this.ctx.getWebSockets()) {
      const connection = readConnection(ws);
      if (connection?.user && ws.readyState === WebSocket.OPEN) live.set(connection.conn, connection.user);
    }
    return live;
  }

  private liveConnections(): Set<string> {
    const live = new Set<string>();
    for (const ws of this.ctx.getWebSockets()) {
      const connection = readConnection(ws);
      if (connection && ws.readyState === WebSocket.OPEN) live.add(connection.conn);
    }
    return live;
  }
}
