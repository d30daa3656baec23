/**
 * The peer's one WebSocket to the tracker: numbered requests, validated
 * replies, keep-alive pings, and reconnection with capped, jittered backoff.
 */
import {
  PING,
  PONG,
  ProtocolFailure,
  isReachabilityPush,
  parsePush,
  parseReachabilityReport,
  parseReplyEnvelope,
  pingFor,
  sanitizeProse,
  type ChangedNotice,
  readResult,
  type RequestBody,
  type ReachabilityReport,
  type RequestType,
  type ResultMap,
} from "@p2p/shared";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { authorization, tokenRefusal } from "./access-token.ts";

export interface TrackerClientOptions {
  url: string;
  /** Sent as `Authorization: Bearer …` to a tracker that needs one (its P2P_TOKEN). */
  token?: string;
  /**
   * The name this peer goes by or is about to claim, sent as `?user=` with
   * every connection: a sharded tracker routes the socket to the shard that
   * holds the name (SCALING.md). One object ignores it.
   */
  route?: () => string | null;
  /** Runs after every (re)connection, before requests from others are let through. */
  onConnected: () => Promise<void>;
  /** Runs once requests are let through again, after onConnected. */
  onReady?: () => void;
  /** The catalog version this peer knows, sent with each ping: a tracker at that version answers without waking. */
  pingVersion?: () => string | null;
  /** The tracker's version, as a pong or a CHANGED notice tells it (with the notice, which may carry the changes). */
  onVersion?: (version: string, notice?: ChangedNotice) => void;
  /** The tracker's unasked report on whether others can reach this peer's mini-server. */
  onReachability?: (report: ReachabilityReport) => void;
  log: (line: string) => void;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  /** Pings without a pong before the connection counts as dead. */
  missedPongLimit?: number;
  maxBackoffMs?: number;
}

interface Pending {
  type: RequestType;
  /** Checks the result against what this request type returns, then resolves. */
  accept: (result: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class TrackerClient {
  private readonly options: Required<Omit<TrackerClientOptions, "onReady" | "onReachability" | "token" | "pingVersion" | "onVersion" | "route">> &
    Pick<TrackerClientOptions, "onReady" | "onReachability" | "token" | "pingVersion" | "onVersion" | "route">;
  private ws: WebSocket | null = null;
  /** Whether the current socket ever opened: one that never did may have been refused. */
  private opened = false;
  /** Set while the tracker refuses this peer's token (or its absence); commands then say so. */
  private refused: PeerError | null = null;
  private ready = false;
  private stopped = false;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private attempt = 0;
  private downSince: Date | null = new Date();
  private pingTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private missedPongs = 0;
  private firstConnection: { resolve: () => void; reject: (e: Error) => void } | null = null;
  /** Set while reconnect() moves the connection: its close is not a loss. */
  private moving = false;
  /** Callers of reconnect(), told when the next connection is ready. */
  private readonly reconnecting: { resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(options: TrackerClientOptions) {
    this.options = {
      requestTimeoutMs: 15_000,
      pingIntervalMs: 10_000,
      missedPongLimit: 3,
      maxBackoffMs: 4_000,
      ...options,
    };
  }

  get connected(): boolean {
    return this.ready;
  }

  /** Connects; resolves once the first connection is up, rejects if it fails. Retries continue afterwards. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.firstConnection = { resolve, reject };
      this.open();
    });
  }

  /**
   * Closes the connection and waits (briefly) for the tracker's answering close,
   * which it sends only after forgetting this peer: a peer restarted right away
   * then finds its name free.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ready = false;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.pingTimer);
    this.failPending(new PeerError("tracker-unreachable", "the peer is shutting down", EXIT.trackerUnreachable));
    this.firstConnection?.reject(new PeerError("tracker-unreachable", "the peer stopped before the tracker answered", EXIT.trackerUnreachable));
    this.firstConnection = null;
    for (const waiter of this.reconnecting.splice(0)) waiter.reject(new PeerError("tracker-unreachable", "the peer is shutting down", EXIT.trackerUnreachable));
    const ws = this.ws;
    this.ws = null;
    // Closed whatever its state: a socket still connecting must never open later and say hello.
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.addEventListener("close", () => resolve(), { once: true }));
    try {
      ws.close(1000, "peer stopping");
    } catch {
      // Already closing.
    }
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  }

  /**
   * Connects again, as a new socket, and resolves once it is ready: a
   * sharded tracker takes a name only from a socket on the name's shard, and
   * a socket cannot move between objects (`wrong-shard`).
   */
  reconnect(): Promise<void> {
    if (this.stopped) return Promise.reject(this.unreachable());
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.reconnecting.indexOf(waiter);
        if (index >= 0) this.reconnecting.splice(index, 1);
        reject(this.unreachable());
      }, this.options.requestTimeoutMs);
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (error: Error) => (clearTimeout(timer), reject(error)),
      };
      this.reconnecting.push(waiter);
    });
    const ws = this.ws;
    this.moving = true;
    if (ws) this.onClose(ws);
    this.moving = false;
    return ready;
  }

  /** Throws the "tracker unreachable" error at once while disconnected. */
  ensureConnected(): void {
    if (!this.ready) throw this.unreachable();
  }

  /** Sends a request; fails at once while disconnected. */
  request<T extends RequestType>(type: T, body: Omit<RequestBody<T>, "type">): Promise<ResultMap[T]> {
    if (!this.ready) return Promise.reject(this.unreachable());
    return this.send(type, body);
  }

  private send<T extends RequestType>(type: T, body: Omit<RequestBody<T>, "type">): Promise<ResultMap[T]> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(this.unreachable());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PeerError("tracker-timeout", `the tracker did not answer ${type} within ${this.options.requestTimeoutMs / 1000} s`, EXIT.trackerUnreachable));
      }, this.options.requestTimeoutMs);
      this.pending.set(id, { type, accept: (result) => resolve(readResult(type, result)), reject, timer });
      ws.send(JSON.stringify({ id, type, ...body }));
    });
  }

  private open(): void {
    if (this.stopped) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.connectUrl(), { headers: authorization(this.options.token) });
    } catch (error) {
      this.firstConnection?.reject(new PeerError("bad-tracker-url", `invalid tracker URL ${this.options.url}: ${errorMessage(error)}`, EXIT.usage));
      this.firstConnection = null;
      return;
    }
    this.ws = ws;
    this.opened = false;
    ws.addEventListener("open", () => {
      if (ws === this.ws) this.opened = true;
      void this.onOpen(ws);
    });
    ws.addEventListener("message", (event) => this.onMessage(event.data));
    ws.addEventListener("close", () => this.onClose(ws));
    // Node's WebSocket reports a refused connection with "error" and never
    // "close", so a failure before opening is handled as a close here.
    ws.addEventListener("error", () => {
      if (ws.readyState !== WebSocket.OPEN) this.onClose(ws);
    });
  }

  private async onOpen(ws: WebSocket): Promise<void> {
    if (this.stopped || ws !== this.ws) return;
    this.missedPongs = 0;
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.ping(ws), this.options.pingIntervalMs);
    this.pingTimer.unref();
    try {
      // Re-announce before anyone else may use the connection.
      this.ready = false;
      await this.options.onConnected();
      // Stopped or replaced during the handshake: this socket must not act again.
      if (this.stopped || ws !== this.ws) return;
      this.ready = true;
      this.attempt = 0;
      this.refused = null;
      if (this.downSince) this.options.log(`connected to tracker ${this.options.url}`);
      this.downSince = null;
      this.firstConnection?.resolve();
      this.firstConnection = null;
      for (const waiter of this.reconnecting.splice(0)) waiter.resolve();
      this.options.onReady?.();
    } catch (error) {
      if (this.stopped || ws !== this.ws) return;
      this.options.log(`tracker handshake failed: ${errorMessage(error)}`);
      this.firstConnection?.reject(error instanceof Error ? error : new Error(String(error)));
      this.firstConnection = null;
      ws.close(4000, "handshake failed");
    }
  }

  /** The tracker's URL, with the name to route by when there is one. */
  private connectUrl(): string {
    const name = this.options.route?.() ?? null;
    if (name === null) return this.options.url;
    const url = new URL(this.options.url);
    url.searchParams.set("user", name);
    return url.href;
  }

  private ping(ws: WebSocket): void {
    if (ws !== this.ws || ws.readyState !== WebSocket.OPEN) return;
    if (this.missedPongs >= this.options.missedPongLimit) {
      this.options.log(`tracker missed ${this.missedPongs} pongs; reconnecting`);
      this.onClose(ws);
      return;
    }
    this.missedPongs++;
    const version = this.options.pingVersion?.() ?? null;
    ws.send(version === null ? PING : pingFor(version));
  }

  /** A pong or a CHANGED notice: messages the tracker sends without being asked, told apart from replies by their `type`. */
  private onPush(data: string): void {
    let push;
    try {
      push = parsePush(data);
    } catch (error) {
      this.options.log(`ignored a malformed message from the tracker: ${sanitizeProse(errorMessage(error))}`);
      return;
    }
    if (push.type === "pong") {
      this.missedPongs = 0;
      if (push.v !== undefined) this.options.onVersion?.(push.v);
    } else this.options.onVersion?.(push.v, push);
  }

  private onMessage(data: unknown): void {
    if (this.stopped) return;
    if (typeof data !== "string") return;
    if (data === PONG) {
      this.missedPongs = 0;
      return;
    }
    if (isReachabilityPush(data)) {
      this.onReachability(data);
      return;
    }
    if (data.startsWith('{"type":')) return this.onPush(data);
    let id: number | null;
    let settle: (pending: Pending) => void;
    try {
      const reply = parseReplyEnvelope(data);
      id = typeof reply.id === "number" ? reply.id : null;
      settle = (p) => {
        if (reply.ok) p.accept(reply.result);
        else p.reject(new PeerError(reply.error.code, sanitizeProse(reply.error.message)));
      };
    } catch (error) {
      this.options.log(`ignored a malformed message from the tracker: ${sanitizeProse(errorMessage(error))}`);
      return;
    }
    const pending = id === null ? undefined : this.pending.get(id);
    if (!pending || id === null) return;
    this.pending.delete(id);
    clearTimeout(pending.timer);
    try {
      settle(pending);
    } catch (error) {
      const message = error instanceof ProtocolFailure ? error.message : errorMessage(error);
      pending.reject(new PeerError("bad-reply", `the tracker's ${pending.type} reply is malformed: ${sanitizeProse(message)}`));
    }
  }

  private onReachability(data: string): void {
    let report: ReachabilityReport;
    try {
      report = parseReachabilityReport(data);
    } catch (error) {
      this.options.log(`ignored a malformed reachability report from the tracker: ${sanitizeProse(errorMessage(error))}`);
      return;
    }
    this.options.onReachability?.(report);
  }

  private onClose(ws: WebSocket): void {
    if (ws !== this.ws) return;
    this.ws = null;
    clearInterval(this.pingTimer);
    const wasReady = this.ready;
    this.ready = false;
    this.downSince ??= new Date();
    try {
      ws.close();
    } catch {
      // Already closing.
    }
    this.failPending(this.unreachable());
    if (this.stopped) return;
    if (this.opened) this.failFirstConnection(null);
    else void this.askWhyRefused();
    if (wasReady) this.options.log(this.moving ? "moving the connection to the tracker object that holds this peer's name" : "lost the tracker connection; reconnecting");
    const base = Math.min(this.options.maxBackoffMs, 250 * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => this.open(), delay);
  }

  /** After a socket that never opened: was it the token? Remembered until a connection succeeds. */
  private async askWhyRefused(): Promise<void> {
    const refusal = await tokenRefusal(this.options.url, this.options.token);
    if (this.stopped || this.ready) return;
    // Later connections keep retrying (the token may be fixed on the tracker); say so once.
    if (refusal && !this.refused && !this.firstConnection) this.options.log(`${refusal.message}; retrying`);
    this.refused = refusal;
    this.failFirstConnection(refusal);
  }

  private failFirstConnection(refusal: PeerError | null): void {
    this.firstConnection?.reject(
      refusal ?? new PeerError("tracker-unreachable", `cannot connect to the tracker at ${this.options.url}; is it running?`, EXIT.trackerUnreachable),
    );
    this.firstConnection = null;
  }

  private failPending(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }

  private unreachable(): PeerError {
    if (this.refused) return this.refused;
    const since = this.downSince ? `, retrying since ${this.downSince.toLocaleTimeString()}` : "";
    return new PeerError("tracker-unreachable", `tracker unreachable at ${this.options.url}${since}`, EXIT.trackerUnreachable);
  }

  /** For the handshake only: requests that bypass the readiness gate. */
  handshake<T extends RequestType>(type: T, body: Omit<RequestBody<T>, "type">): Promise<ResultMap[T]> {
    return this.send(type, body);
  }
}
