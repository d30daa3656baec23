/**
 * The tracker protocol: JSON text messages over one WebSocket per peer.
 * Every peer → tracker request carries an `id`, echoed in its reply.
 */
import type { ProtocolError } from "./errors.ts";

export type RequestId = number | string;

/**
 * A file as a peer offers it. `root` is its content identity: the root of a
 * SHA-256 hash tree over its pieces (see transfer.ts), 64 hex digits; with
 * `size` it proves every piece of the content.
 */
export interface FileEntry {
  path: string;
  size: number;
  root: string;
}

/** A file as the tracker lists it: who offers what. */
export interface FileListing extends FileEntry {
  user: string;
}

/** Where a user's mini-server listens. */
export interface UserAddress {
  user: string;
  host: string;
  port: number;
}

/** A user as list-users lists it; `reachable` is what the tracker's probe found (reachability.ts). */
export interface ListedUser extends UserAddress {
  reachable: boolean | null;
}

/**
 * The protocol generation. 2: files are named by their content root (1 named
 * them by the whole-file SHA-256). Peers say it in `hello`; a tracker refuses
 * an older peer with a message that says to upgrade.
 */
export const PROTOCOL_VERSION = 2;

export interface HelloRequest {
  id: RequestId;
  type: "hello";
  /** The port of the peer's mini-server. */
  port: number;
  /** Overrides the address the tracker saw the connection come from. */
  host?: string;
  /** PROTOCOL_VERSION of the peer; absent from peers of generation 1. */
  protocol?: number;
}

export interface RegisterRequest {
  id: RequestId;
  type: "register";
  user: string;
  files: FileEntry[];
}

export interface UnregisterRequest {
  id: RequestId;
  type: "unregister";
  user: string;
  paths: string[];
}

export interface ListFilesRequest {
  id: RequestId;
  type: "list-files";
}

export interface ListUsersRequest {
  id: RequestId;
  type: "list-users";
}

export type TrackerRequest =
  | HelloRequest
  | RegisterRequest
  | UnregisterRequest
  | ListFilesRequest
  | ListUsersRequest;

export type RequestType = TrackerRequest["type"];

export const REQUEST_TYPES: readonly RequestType[] = [
  "hello",
  "register",
  "unregister",
  "list-files",
  "list-users",
];

export interface HelloResult {
  /** The address the tracker will give other peers for this one. */
  host: string;
  port: number;
  /** The tracker's PROTOCOL_VERSION. */
  protocol: number;
}

export interface RegisterResult {
  user: string;
  /** Paths new to this user. */
  added: number;
  /** Paths already offered whose size or hash was replaced. */
  updated: number;
  /** Files the user offers after this request. */
  total: number;
}

export interface UnregisterResult {
  user: string;
  removed: string[];
  /** Paths the user did not offer; reported, not fatal. */
  unknown: string[];
}

export interface ListFilesResult {
  files: FileListing[];
}

export interface ListUsersResult {
  users: ListedUser[];
}

export interface ResultMap {
  hello: HelloResult;
  register: RegisterResult;
  unregister: UnregisterResult;
  "list-files": ListFilesResult;
  "list-users": ListUsersResult;
}

export type RequestOf<T extends RequestType> = Extract<TrackerRequest, { type: T }>;

/** A request as a client writes it, before an id is attached. */
export type RequestBody<T extends RequestType> = Omit<RequestOf<T>, "id">;

export interface OkReply<R = unknown> {
  id: RequestId;
  ok: true;
  result: R;
}

export interface ErrorReply {
  /** Null when the request was too broken to read its id. */
  id: RequestId | null;
  ok: false;
  error: ProtocolError;
}

export type TrackerReply<R = unknown> = OkReply<R> | ErrorReply;

/**
 * Keep-alive frames. The tracker answers PING with PONG through the
 * runtime's auto-response, so an idle peer never wakes the tracker.
 */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';
