/**
 * Checks whether other peers can reach each peer's mini-server. After a
 * hello, the peer's socket is queued for a probe (probe.ts) of the address
 * the tracker SAW it connect from, with the port it announced, never a host
 * it merely claims: otherwise any peer could point the tracker at any
 * address. At most `concurrency` probes run at once (the platform allows 6
 * outbound connections); the rest wait their turn, and one whose socket
 * closed meanwhile is dropped.
 *
 * Each result goes back to the peer as a pushed `reachability` message and
 * into the socket's attachment, so it survives hibernation with the socket;
 * listings read it from there. A probe in flight keeps the object awake
 * (and billed), which the short timeout bounds.
 */
import { type ListedUser, type Reachable, type ReachabilityReport, type UserAddress } from "@p2p/shared";
import { readConnection, writeConnection } from "../connection.ts";
import { probe, type ProbeOutcome } from "./probe.ts";
import type { TrackerStore } from "../store.ts";

export interface ProbeLimits {
  /** Connecting and answering, together. */
  timeoutMs: number;
  /** Probes in flight at once. */
  concurrency: number;
  /** A probe that waited longer than this for its turn is given up (reported as not checked). */
  maxWaitMs: number;
  /** Probe only 127.0.0.0/8 and ::1 (tests and local runs: no traffic ever leaves the machine). */
  loopbackOnly: boolean;
}

export const DEFAULT_PROBE_LIMITS: ProbeLimits = { timeoutMs: 3_000, concurrency: 6, maxWaitMs: 60_000, loopbackOnly: false };

const isLoopback = (host: string) => /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i.test(host);

interface Job {
  ws: WebSocket;
  conn: string;
  host: string;
  port: number;
  advertised: string;
  queuedAt: number;
}

export class Reachability {
  readonly #sockets: () => WebSocket[];
  readonly #limits: ProbeLimits;
  /** Waiting probes by connection id, oldest first; a newer hello replaces its socket's waiting probe. */
  readonly #queue = new Map<string, Job>();
  /** The latest job per connection: a result for any older one is stale. */
  readonly #latest = new Map<string, Job>();
  #running = 0;
  /** conn → result, rebuilt from the attachments after every wake-up. */
  #results: Map<string, boolean> | null = null;
  #listed: { base: readonly UserAddress[]; users: ListedUser[]; json: string } | null = null;

  readonly #onChange: (user: string, conn: string) => void;

  /** `onChange`: a registered user's result changed, so listings that carry it move on. */
  constructor(sockets: () => WebSocket[], limits: ProbeLimits, onChange: (user: string, conn: string) => void = () => {}) {
    this.#sockets = sockets;
    this.#limits = limits;
    this.#onChange = onChange;
  }

  /** After a successful hello: forgets the socket's last result and queues a probe. */
  check(ws: WebSocket): void {
    const connection = readConnection(ws);
    if (!connection || connection.port === null) return;
    this.#record(ws, null);
    const job: Job = {
      ws,
      conn: connection.conn,
      host: connection.seenHost,
      port: connection.port,
      advertised: connection.host,
      queuedAt: Date.now(),
    };
    this.#latest.set(job.conn, job);
    this.#queue.delete(job.conn);
    if (this.#limits.loopbackOnly && !isLoopback(job.host)) {
      this.#finish(job, { reachable: null, reason: "not checked: this tracker probes loopback addresses only (PROBE_LOOPBACK_ONLY)" });
      return;
    }
    this.#queue.set(job.conn, job);
    this.#pump();
  }

  /** The socket is gone: its waiting probe and its result with it. */
  forget(conn: string): void {
    this.#queue.delete(conn);
    this.#latest.delete(conn);
    if (this.#results?.delete(conn)) this.#listed = null;
  }

  /** The store's users, each with what its probe found. */
  listUsers(store: TrackerStore): ListedUser[] {
    return this.#listing(store).users;
  }

  /** `[{user, host, port, reachable}, …]`: what list-users and /api/users send. */
  listUsersJson(store: TrackerStore): string {
    return this.#listing(store).json;
  }

  /** What the probe found for one user: null until it has, or when there is no telling. */
  reachableOf(store: TrackerStore, user: string): Reachable {
    const conn = store.holderOf(user);
    return (conn === undefined ? undefined : this.#resultsByConn().get(conn)) ?? null;
  }

  #listing(store: TrackerStore): { users: ListedUser[]; json: string } {
    const base = store.listUsers();
    // The store hands out the same array until its users change.
    if (this.#listed?.base === base) return this.#listed;
    const users = base.map((u) => ({ ...u, reachable: this.reachableOf(store, u.user) }));
    this.#listed = { base, users, json: JSON.stringify(users) };
    return this.#listed;
  }

  #resultsByConn(): Map<string, boolean> {
    if (this.#results === null) {
      this.#results = new Map();
      for (const ws of this.#sockets()) {
        const connection = readConnection(ws);
        if (typeof connection?.reachable === "boolean") this.#results.set(connection.conn, connection.reachable);
      }
    }
    return this.#results;
  }

  #pump(): void {
    while (this.#running < this.#limits.concurrency) {
      const job = this.#queue.values().next().value;
      if (job === undefined) return;
      this.#queue.delete(job.conn);
      if (!this.#isCurrent(job)) continue;
      if (Date.now() - job.queuedAt > this.#limits.maxWaitMs) {
        this.#finish(job, { reachable: null, reason: "the tracker was too busy to check; it will on the next connection" });
        continue;
      }
      this.#running++;
      void probe(job.host, job.port, this.#limits.timeoutMs)
        .then((outcome) => this.#finish(job, outcome))
        .finally(() => {
          this.#running--;
          this.#pump();
        });
    }
  }

  /** The job is its socket's latest and the socket is still open with the same port. */
  #isCurrent(job: Job): boolean {
    const connection = readConnection(job.ws);
    return this.#latest.get(job.conn) === job && job.ws.readyState === WebSocket.OPEN && connection?.conn === job.conn && connection.port === job.port;
  }

  #finish(job: Job, outcome: ProbeOutcome): void {
    if (!this.#isCurrent(job)) return;
    this.#latest.delete(job.conn);
    this.#record(job.ws, outcome.reachable);
    const report: ReachabilityReport = {
      type: "reachability",
      reachable: outcome.reachable,
      host: job.host,
      port: job.port,
      ...(job.advertised !== job.host ? { advertised: job.advertised } : {}),
      reason: outcome.reason,
    };
    try {
      job.ws.send(JSON.stringify(report));
    } catch {
      // Closed meanwhile: the result is of no use to anyone.
    }
  }

  /** Into the attachment, which outlives this object's memory, and into the listing. */
  #record(ws: WebSocket, reachable: Reachable): void {
    const connection = readConnection(ws);
    if (!connection || connection.reachable === reachable) return;
    writeConnection(ws, { ...connection, reachable });
    const results = this.#resultsByConn();
    if (reachable === null) results.delete(connection.conn);
    else results.set(connection.conn, reachable);
    this.#listed = null;
    if (connection.user !== null) this.#onChange(connection.user, connection.conn);
  }
}
