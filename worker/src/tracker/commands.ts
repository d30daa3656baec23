/** One handler per request type; each either answers or throws a ProtocolFailure and changes nothing. */
import {
  MAX_FILES_PER_USER,
  PROTOCOL_VERSION,
  ProtocolFailure,
  SCANNED_BYTES_PER_TOKEN,
  type FileEntry,
  type RequestOf,
  type RequestType,
  type Reachable,
  type ResultMap,
  type Version,
} from "@p2p/shared";
import type { Connection } from "./connection.ts";
import { filesPage, filesPageJson, isPaged, usersPage, usersPageJson } from "./paging.ts";
import { Serialized } from "./serialized.ts";
import type { TrackerStore } from "./store.ts";
import type { SyncAnswers } from "./sync/sync-answers.ts";

export interface CommandContext {
  store: TrackerStore;
  connection: Connection;
  /** Persists a changed connection into the socket's attachment. */
  save(connection: Connection): void;
  /** Whether the connection with this id still has an open socket. */
  isLive(conn: string): boolean;
  /** Null when this object may hold the name; a sharded tracker's other shards say which shard does. */
  wrongShard(user: string): string | null;
  /** The catalog's current version. */
  version(): Version;
  sync: SyncAnswers;
  /** From now on, this socket is told when the version moves. */
  watch(): void;
  /** `[{user, host, port, reachable}, …]`, as list-users answers unpaged. */
  usersJson(): string;
  /** What the reachability probe found for one user. */
  reachableOf(user: string): Reachable;
  /** Charges the socket for work beyond reading its message (message-budget.ts). */
  work(tokens: number): void;
}

type Handler<T extends RequestType> = (ctx: CommandContext, request: RequestOf<T>) => ResultMap[T] | Serialized;

export const commands: { [T in RequestType]: Handler<T> } = {
  hello(ctx, { port, host }) {
    const connection = { ...ctx.connection, port, host: host ?? ctx.connection.seenHost };
    if (connection.user !== null) ctx.store.setAddress(connection.user, connection.host, port);
    ctx.save(connection);
    return { host: connection.host, port, protocol: PROTOCOL_VERSION };
  },

  register(ctx, { user, files }) {
    const { connection, store } = ctx;
    if (connection.port === null) {
      throw new ProtocolFailure("hello-required", "say hello with your mini-server's port before registering files");
    }
    if (connection.user !== null && connection.user !== user) {
      throw new ProtocolFailure(
        "name-mismatch",
        `this connection is registered as "${connection.user}"; it cannot also register as "${user}"`,
      );
    }
    const wrong = ctx.wrongShard(user);
    if (wrong !== null) throw new ProtocolFailure("wrong-shard", wrong);
    const holder = store.holderOf(user);
    if (holder !== undefined && holder !== connection.conn && ctx.isLive(holder)) {
      throw new ProtocolFailure("name-taken", `the name "${user}" is in use by another connected peer`);
    }
    const counts = store.register(user, connection.conn, connection.host, connection.port, dedupe(files), MAX_FILES_PER_USER);
    if (connection.user === null) ctx.save({ ...connection, user });
    return { user, ...counts };
  },

  unregister(ctx, { user, paths }) {
    const { connection, store } = ctx;
    if (connection.user !== user) {
      const holder = store.holderOf(user);
      if (holder !== undefined && ctx.isLive(holder)) {
        throw new ProtocolFailure("not-owner", `"${user}" belongs to another connection; only it can unregister its files`);
      }
      throw new ProtocolFailure("unknown-user", `no connected user is named "${user}"`);
    }
    return { user, ...store.unregister(user, [...new Set(paths)]) };
  },

  "list-files": (ctx, request) => {
    if (!isPaged(request)) return new Serialized(`{"files":${ctx.store.listFilesJson()}}`);
    const page = filesPage(ctx.store, request);
    ctx.work(Math.floor((page.scanned ?? 0) / SCANNED_BYTES_PER_TOKEN));
    return new Serialized(filesPageJson(page, ctx.version()));
  },

  "list-users": (ctx, request) =>
    new Serialized(
      request.limit !== undefined || request.cursor !== undefined
        ? usersPageJson(usersPage(ctx.store, request, (user) => ctx.reachableOf(user)), ctx.version())
        : `{"users":${ctx.usersJson()}}`,
    ),

  sync(ctx, { since }) {
    ctx.watch();
    return new Serialized(ctx.sync.answer(since));
  },
};

/** The last entry for a path wins, as if the entries were sent one by one. */
function dedupe(files: readonly FileEntry[]): FileEntry[] {
  const byPath = new Map<string, FileEntry>();
  for (const file of files) byPath.set(file.path, file);
  return [...byPath.values()];
}
