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

/**
 * The catalog's version: `<epoch>-<seq>`. The seq moves with every change to
 * users or files; the epoch changes when the tracker restarts (or loses a
 * write), so a version from before always gets a snapshot.
 */
export type Version = string;

/**
 * Without filters, `limit` or `cursor`, the whole listing as one reply. With
 * any of them, one page (paging.ts): at most `limit` entries and
 * MAX_PAGE_BYTES, with the cursor of the next page.
 */
export interface ListFilesRequest {
  id: RequestId;
  type: "list-files";
  /** Only this user's files. */
  user?: string;
  /** Only paths that contain this text, ignoring case. */
  q?: string;
  /** Only files with this content root. */
  root?: string;
  limit?: number;
  /** A page's `next`: the listing goes on after the last entry that page held. */
  cursor?: string;
}

export interface ListUsersRequest {
  id: RequestId;
  type: "list-users";
  limit?: number;
  cursor?: string;
}

/**
 * Users and files since a version: unchanged, the changes since, or (no
 * `since`, one too old, or from another epoch) a snapshot. A socket that
 * asks is sent a CHANGED notice whenever the version moves.
 */
export interface SyncRequest {
  id: RequestId;
  type: "sync";
  since?: Version;
}

export type TrackerRequest =
  | HelloRequest
  | RegisterRequest
  | UnregisterRequest
  | ListFilesRequest
  | ListUsersRequest
  | SyncRequest;

export type RequestType = TrackerRequest["type"];

export const REQUEST_TYPES: readonly RequestType[] = [
  "hello",
  "register",
  "unregister",
  "list-files",
  "list-users",
  "sync",
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

/** A page (a paged or filtered request) also has `next` (null on the last page) and `version`. */
export interface ListFilesResult {
  files: FileListing[];
  next?: string | null;
  version?: Version;
}

export interface ListUsersResult {
  users: ListedUser[];
  next?: string | null;
  version?: Version;
}

/**
 * What changed between two versions, folded: each user and file appears at
 * most once. Applied in this order (sync.ts): goneUsers (each with every
 * file it offered), goneFiles, users, files.
 */
export interface ChangeSet {
  goneUsers: string[];
  goneFiles: { user: string; path: string }[];
  /** Users that are new, or have a new address or reachability. */
  users: ListedUser[];
  /** Files that are new or have a new size or root. */
  files: FileListing[];
}

/** The first page of each listing; the rest follow with list-users and list-files from these cursors. */
export interface Snapshot {
  users: ListedUser[];
  usersNext: string | null;
  files: FileListing[];
  filesNext: string | null;
}

export type SyncResult =
  | { version: Version; unchanged: true }
  | { version: Version; changes: ChangeSet }
  | { version: Version; snapshot: Snapshot };

export interface ResultMap {
  hello: HelloResult;
  register: RegisterResult;
  unregister: UnregisterResult;
  "list-files": ListFilesResult;
  "list-users": ListUsersResult;
  sync: SyncResult;
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
 * Keep-alive frames. A ping may carry the version its peer knows: the
 * tracker keeps the runtime's auto-response armed with the current version
 * (`pingFor(v)` → `pongFor(v)`), so an up-to-date peer's ping never wakes the
 * tracker, and any other ping is answered by the tracker with a pong that
 * carries the current version (a plain PING gets a plain PONG).
 */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';
export const pingFor = (version: Version): string => JSON.stringify({ type: "ping", v: version });
export const pongFor = (version: Version): string => JSON.stringify({ type: "pong", v: version });
/**
 * Sent, coalesced, to every socket that asked for `sync` once the version
 * moves. When the changes since the previous notice (`from`) are small, they
 * come with it: a peer at a version from `from` to `v` applies them and is
 * current without asking; any other peer pulls with `sync`.
 */
export interface ChangedNotice {
  type: "changed";
  v: Version;
  from?: Version;
  changes?: ChangeSet;
}

export const changedNotice = (version: Version): string => JSON.stringify({ type: "changed", v: version });

/** A notice with its change set, spliced from the change set's JSON as the tracker keeps it. */
export const changedNoticeWith = (version: Version, from: Version, changesJson: string): string =>
  `{"type":"changed","v":${JSON.stringify(version)},"from":${JSON.stringify(from)},"changes":${changesJson}}`;

/** What the tracker sends without being asked: a pong, or a notice. */
export type TrackerPush = { type: "pong"; v?: Version } | ChangedNotice;
