import type { Reachable } from "@p2p/shared";

/**
 * What the tracker knows about one socket, kept in the socket's attachment
 * so it survives hibernation together with the socket itself.
 */
export interface Connection {
  /** Unique per socket; ties the users table to live sockets. */
  conn: string;
  /** The address the worker saw the peer connect from. */
  seenHost: string;
  /** The address other peers get: `hello`'s host, or seenHost. */
  host: string;
  /** The mini-server port from `hello`; null until then. */
  port: number | null;
  /** The name this connection registered; null until its first register. */
  user: string | null;
  /** When the socket was accepted (ms since the epoch): a heartbeat is not due before. */
  since: number;
  /** The last ping the object answered itself (one the auto-response did not match). */
  pinged?: number;
  /** Asked for `sync`, so it is told when the version moves. */
  watching?: boolean;
  /** What the last reachability probe found (reachability.ts); absent or null until one has. */
  reachable?: Reachable;
  /** A live page's socket (`/live`): it watches and pings, and is never a peer. */
  observer?: true;
}

export function readConnection(ws: WebSocket): Connection | null {
  const value = ws.deserializeAttachment() as Connection | null;
  return value && typeof value.conn === "string" ? value : null;
}

export function writeConnection(ws: WebSocket, connection: Connection): void {
  ws.serializeAttachment(connection);
}

/**
 * Tags the socket is accepted with, so the runtime's index finds a
 * connection's socket, or an address's sockets, without reading every
 * socket's attachment. Tags survive hibernation with the socket.
 */
export const connTag = (conn: string): string => `conn:${conn}`;
export const addressTag = (host: string): string => `addr:${host}`;
/** Live pages' sockets: all of them, and an address's, apart from the peers'. */
export const OBSERVER_TAG = "observer";
export const observerAddressTag = (host: string): string => `observer-addr:${host}`;

export const isOpen = (ws: WebSocket): boolean => ws.readyState === WebSocket.OPEN;

/** Closes a socket that may already be closing. */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  try {
    ws.close(code, reason);
  } catch {
    // Already closing or closed: nothing left to do.
  }
}
