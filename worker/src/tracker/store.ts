/**
 * The tracker's state: an in-memory index that answers every request, and
 * the object's SQLite storage behind it, which survives hibernation.
 *
 * Writes reach storage in batches, flushed within FLUSH_DELAY_MS rather
 * than with every request: one commit per batch instead of one
 * per request is what lets the tracker keep up with many peers. The index is
 * rebuilt from storage whenever the object starts. A batch lost to a crash
 * costs nothing either: a crash closes every socket, the restarted object
 * drops every user whose socket is gone, and peers re-register on reconnect.
 * A batch that storage refuses while the object runs is handed to
 * `onWriteFailure`, whose answer is the same: forget everyone (`reset`) and
 * close every socket.
 *
 * The store also keeps the catalog within its budgets: each user's path
 * bytes, and the size of the whole listing.
 */
import { ProtocolFailure, type FileEntry, type UserAddress } from "@p2p/shared";
import type { Budgets } from "./budgets/budgets.ts";
import type { Change } from "./sync/change-log.ts";
import { CatalogTotals } from "./catalog-totals.ts";
import { LISTING_ENVELOPE_BYTES, entrySize } from "./listing-size.ts";
import { UserFiles } from "./user-files.ts";

export interface UpsertCounts {
  added: number;
  updated: number;
  total: number;
}

interface UserRow {
  conn: string;
  host: string;
  port: number;
  /** UTF-8 bytes of this user's paths. */
  pathBytes: number;
  /** What this user's files add to the listing. */
  listingBytes: number;
}

/**
 * How long writes wait to be stored together. Far shorter than the idle time
 * before the runtime may hibernate the object, so a batch is always stored
 * before its memory could go.
 */
const FLUSH_DELAY_MS = 10;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    user TEXT PRIMARY KEY,
    conn TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS files (
    user TEXT NOT NULL REFERENCES users(user) ON DELETE CASCADE,
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    root TEXT NOT NULL,
    PRIMARY KEY (user, path)
  ) WITHOUT ROWID;
`;

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface StoreOptions {
  sql: SqlStorage;
  transaction: <T>(fn: () => T) => T;
  budgets: Pick<Budgets, "userPathBytes" | "catalogBytes">;
  /** Called when storage refuses a batch the index already holds. */
  onWriteFailure: (error: unknown) => void;
  /** Told of every change to users and files (the change log); what it returns is stored in the same batch. */
  onChange?: (change: Change | "reset") => () => void;
}

export class TrackerStore {
  private readonly sql: SqlStorage;
  private readonly transaction: <T>(fn: () => T) => T;
  private readonly budgets: StoreOptions["budgets"];
  private readonly onWriteFailure: (error: unknown) => void;
  private readonly onChange: NonNullable<StoreOptions["onChange"]> | undefined;
  private readonly users = new Map<string, UserRow>();
  private readonly files = new Map<string, UserFiles>();
  /** User names in order, kept until one comes or goes. */
  private sortedUsers: string[] | null = null;
  /** What every user's files add to the listing, together. */
  private catalogBytes = 0;
  /** Files, bytes offered and distinct contents, for the stats. */
  readonly totals = new CatalogTotals();
  /** The listings' JSON, kept until something changes. */
  private usersList: UserAddress[] | null = null;
  private usersJson: string | null = null;
  private filesJson: string | null = null;
  private readonly pending: (() => void)[] = [];
  private flushScheduled = false;

  constructor(options: StoreOptions) {
    this.sql = options.sql;
    this.transaction = options.transaction;
    this.budgets = options.budgets;
    this.onWriteFailure = options.onWriteFailure;
    this.onChange = options.onChange;
    // Files stored before content roots (a sha256 column) belong to peers of the old protocol, gone since the restart.
    const columns = [...this.sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('files')")].map((c) => c.name);
    if (columns.length > 0 && !columns.includes("root")) this.sql.exec("DROP TABLE files");
    this.sql.exec(SCHEMA);
    for (const row of this.sql.exec<{ user: string; conn: string; host: string; port: number }>("SELECT user, conn, host, port FROM users")) {
      this.users.set(row.user, { conn: row.conn, host: row.host, port: row.port, pathBytes: 0, listingBytes: 0 });
      this.files.set(row.user, new UserFiles(row.user));
    }
    for (const row of this.sql.exec<{ user: string; path: string; size: number; root: string }>("SELECT user, path, size, root FROM files")) {
      const index = this.files.get(row.user);
      if (!index) continue;
      index.set(row.path, { size: row.size, root: row.root });
      this.account(row.user, row.path, 1);
      this.totals.add(row);
    }
  }

  /** The connection that holds `user`, if any. */
  holderOf(user: string): string | undefined {
    return this.users.get(user)?.conn;
  }

  /**
   * Binds `user` to a connection (replacing any stale holder) and adds or
   * updates files, all or nothing: refused when the user would pass
   * `maxFiles` or its path bytes, or the catalog its size.
   */
  register(user: string, conn: string, host: string, port: number, files: readonly FileEntry[], maxFiles: number): UpsertCounts {
    const holder = this.holderOf(user);
    const mine = holder === conn ? this.files.get(user) : undefined;
    let added = 0;
    let updated = 0;
    let addedPathBytes = 0;
    let addedListingBytes = 0;
    /** What the change log is told: files offered again exactly as they were change nothing. */
    const changedFiles: FileEntry[] = [];
    for (const file of files) {
      const old = mine?.get(file.path);
      if (!old) {
        added++;
        const size = entrySize(user, file.path);
        addedPathBytes += size.pathBytes;
        addedListingBytes += size.listingBytes;
        changedFiles.push(file);
      } else if (old.size !== file.size || old.root !== file.root) {
        updated++;
        changedFiles.push(file);
      }
    }
    const current = mine?.size ?? 0;
    if (current + added > maxFiles) {
      throw new ProtocolFailure("too-many-files", `"${user}" would offer ${current + added} files; at most ${maxFiles} are allowed per user`);
    }
    const row = this.users.get(user);
    const pathBytes = (mine ? row!.pathBytes : 0) + addedPathBytes;
    if (pathBytes > this.budgets.userPathBytes) {
      throw new ProtocolFailure(
        "user-quota",
        `"${user}"'s paths would take ${pathBytes} bytes; at most ${this.budgets.userPathBytes} are allowed per user (shorter paths or fewer files)`,
      );
    }
    // A stale holder's files go when the name changes hands, so they do not count.
    const freed = row && !mine ? row.listingBytes : 0;
    if (this.catalogBytes - freed + addedListingBytes > this.budgets.catalogBytes - LISTING_ENVELOPE_BYTES) {
      throw new ProtocolFailure(
        "catalog-full",
        `the tracker's catalog is full (its listing may take at most ${this.budgets.catalogBytes} bytes); these ${added} files do not fit until others leave`,
      );
    }
    if (holder !== conn) {
      if (holder !== undefined) this.dropUser(user);
      this.users.set(user, { conn, host, port, pathBytes: 0, listingBytes: 0 });
      this.files.set(user, new UserFiles(user));
      this.usersChanged();
      this.write(() => this.sql.exec("INSERT INTO users (user, conn, host, port) VALUES (?, ?, ?, ?)", user, conn, host, port));
      this.changed({ kind: "user", user, host, port });
    }
    if (files.length > 0) {
      const index = this.files.get(user)!;
      for (const file of files) {
        const old = index.get(file.path);
        if (old) this.totals.remove(old);
        this.totals.add(file);
        index.set(file.path, { size: file.size, root: file.root });
      }
      // Entries are unique by path (the caller de-duplicates), so the sums above are exact.
      this.grow(this.users.get(user)!, addedPathBytes, addedListingBytes);
      this.filesChanged();
      // Rows as [path, size, root] arrays: a smaller parameter, cheaper to take apart.
      const batch = JSON.stringify(files.map((f) => [f.path, f.size, f.root]));
      this.write(() =>
        this.sql.exec(
          `INSERT INTO files (user, path, size, root)
           SELECT ?, j.value->>0, j.value->>1, j.value->>2 FROM json_each(?) j WHERE true
           ON CONFLICT (user, path) DO UPDATE SET size = excluded.size, root = excluded.root`,
          user,
          batch,
        ),
      );
      if (changedFiles.length > 0) this.changed({ kind: "files", user, files: changedFiles });
    }
    return { added, updated, total: current + added };
  }

  /** Removes the paths the user offers; returns which were removed and which were unknown. */
  unregister(user: string, paths: readonly string[]): { removed: string[]; unknown: string[] } {
    const index = this.files.get(user);
    const removed = paths.filter((path) => {
      const row = index?.get(path);
      if (!row || !index!.delete(path)) return false;
      this.totals.remove(row);
      return true;
    });
    if (removed.length > 0) {
      for (const path of removed) this.account(user, path, -1);
      this.filesChanged();
      const batch = JSON.stringify(removed);
      this.write(() => this.sql.exec("DELETE FROM files WHERE user = ? AND path IN (SELECT value FROM json_each(?))", user, batch));
      this.changed({ kind: "files-gone", user, paths: removed });
    }
    const gone = new Set(removed);
    return { removed, unknown: paths.filter((path) => !gone.has(path)) };
  }

  setAddress(user: string, host: string, port: number): void {
    const row = this.users.get(user);
    if (!row || (row.host === host && row.port === port)) return;
    row.host = host;
    row.port = port;
    this.usersChanged();
    this.write(() => this.sql.exec("UPDATE users SET host = ?, port = ? WHERE user = ?", host, port, user));
    this.changed({ kind: "user", user, host, port });
  }

  /**
   * What the listing says about a user beside its row changed (the probe's
   * reachability, kept in its socket's attachment): versioned like a move,
   * so peers that sync learn it from the change set.
   */
  touchUser(user: string): void {
    const row = this.users.get(user);
    if (!row) return;
    this.usersChanged();
    this.changed({ kind: "user", user, host: row.host, port: row.port });
  }

  dropUser(user: string): void {
    const row = this.users.get(user);
    if (!row) return;
    for (const file of this.files.get(user)?.values() ?? []) this.totals.remove(file);
    this.users.delete(user);
    this.files.delete(user);
    this.catalogBytes -= row.listingBytes;
    this.usersChanged();
    this.filesChanged();
    this.write(() => {
      this.sql.exec("DELETE FROM files WHERE user = ?", user);
      this.sql.exec("DELETE FROM users WHERE user = ?", user);
    });
    this.changed({ kind: "user-gone", user });
  }

  /** Forgets every user whose connection is not in `live`, with all their files, and stores that at once. */
  dropUsersExcept(live: ReadonlyMap<string, string>): string[] {
    const ghosts = [...this.users].filter(([user, row]) => live.get(row.conn) !== user).map(([user]) => user);
    for (const user of ghosts) this.dropUser(user);
    this.flushOrReport();
    return ghosts;
  }

  /**
   * Forgets every user and file, and everything not yet stored; then clears
   * storage, if it will. What it cannot clear is left for the next start,
   * which drops every user whose socket is gone (after this, all of them).
   */
  reset(): void {
    this.pending.length = 0;
    this.users.clear();
    this.files.clear();
    this.catalogBytes = 0;
    this.totals.clear();
    this.usersChanged();
    this.filesChanged();
    const newEpoch = this.onChange?.("reset");
    try {
      this.transaction(() => {
        this.sql.exec(SCHEMA);
        this.sql.exec("DELETE FROM files");
        this.sql.exec("DELETE FROM users");
        newEpoch?.();
      });
    } catch (error) {
      console.error("tracker: storage could not be cleared after a failed write; the next start drops what is left", error);
    }
  }

  /**
   * The listing as a JSON array, `[{user, path, size, root}, …]` sorted by
   * user, then path: each user's stretch is kept until that user's files
   * change, so this only joins them.
   */
  listFilesJson(): string {
    this.filesJson ??= `[${this.userNames()
      .map((user) => this.files.get(user)!.chunk())
      .filter((chunk) => chunk.length > 0)
      .join(",")}]`;
    return this.filesJson;
  }

  get userCount(): number {
    return this.users.size;
  }

  /** Every user's name, in listing order. */
  userNames(): readonly string[] {
    this.sortedUsers ??= [...this.users.keys()].sort(byKey);
    return this.sortedUsers;
  }

  userAddress(user: string): { host: string; port: number } | undefined {
    return this.users.get(user);
  }

  /** One user's files, in listing order on demand (user-files.ts). */
  filesOf(user: string): UserFiles | undefined {
    return this.files.get(user);
  }

  /** Every user, sorted by name: the same array until users change, so derived listings can be kept too. */
  listUsers(): readonly UserAddress[] {
    this.usersList ??= this.userNames().flatMap((user) => {
      const row = this.users.get(user);
      return row ? [{ user, host: row.host, port: row.port }] : [];
    });
    return this.usersList;
  }

  /** Every user as a JSON array, `[{user, host, port}, …]` sorted by user. Asked for far more often than users come and go. */
  listUsersJson(): string {
    this.usersJson ??= JSON.stringify(this.listUsers());
    return this.usersJson;
  }

  /** Writes everything not yet in storage, in one transaction; throws if storage refuses it. */
  flush(): void {
    if (this.pending.length === 0) return;
    const writes = this.pending.splice(0);
    this.transaction(() => {
      for (const write of writes) write();
    });
  }

  /** Adds (sign 1) or removes (-1) one file's share of its user's and the catalog's budgets. */
  private account(user: string, path: string, sign: 1 | -1): void {
    const size = entrySize(user, path);
    this.grow(this.users.get(user)!, sign * size.pathBytes, sign * size.listingBytes);
  }

  private grow(row: UserRow, pathBytes: number, listingBytes: number): void {
    row.pathBytes += pathBytes;
    row.listingBytes += listingBytes;
    this.catalogBytes += listingBytes;
  }

  private usersChanged(): void {
    this.usersList = null;
    this.usersJson = null;
    this.sortedUsers = null;
  }

  private filesChanged(): void {
    this.filesJson = null;
  }

  /** The index already answered for these writes, so a refusal is reported, never thrown at a caller. */
  private flushOrReport(): void {
    try {
      this.flush();
    } catch (error) {
      this.onWriteFailure(error);
    }
  }

  private changed(change: Change): void {
    if (this.onChange) this.write(this.onChange(change));
  }

  private write(op: () => void): void {
    this.pending.push(op);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setTimeout(() => {
      this.flushScheduled = false;
      this.flushOrReport();
    }, FLUSH_DELAY_MS);
  }
}
