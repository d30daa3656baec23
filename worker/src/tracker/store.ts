/**
 * The tracker's durable state in the object's SQLite storage. It survives
 * hibernation and restarts; `dropUsersExcept` clears what no socket backs.
 */
import { ProtocolFailure, type FileEntry, type FileListing, type UserAddress } from "@p2p/shared";

export interface UpsertCounts {
  added: number;
  updated: number;
  total: number;
}

export class TrackerStore {
  private readonly sql: SqlStorage;
  private readonly transaction: <T>(fn: () => T) => T;
  /** Derived from storage, so safe to lose on eviction. */
  private usersCache: UserAddress[] | null = null;

  constructor(sql: SqlStorage, transaction: <T>(fn: () => T) => T) {
    this.sql = sql;
    this.transaction = transaction;
    sql.exec(`
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
        sha256 TEXT NOT NULL,
        PRIMARY KEY (user, path)
      ) WITHOUT ROWID;
    `);
  }

  /** The connection that holds `user`, if any. */
  holderOf(user: string): string | undefined {
    const row = this.sql.exec<{ conn: string }>("SELECT conn FROM users WHERE user = ?", user).toArray()[0];
    return row?.conn;
  }

  fileCount(user: string): number {
    return this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM files WHERE user = ?", user).one().n;
  }

  /**
   * Binds `user` to a connection (replacing any stale holder) and adds or
   * updates files, all or nothing. The batch travels as one JSON parameter,
   * so a thousand files cost two statements, not two thousand.
   */
  register(user: string, conn: string, host: string, port: number, files: readonly FileEntry[], maxFiles: number): UpsertCounts {
    const batch = JSON.stringify(files);
    return this.transaction(() => {
      const holder = this.holderOf(user);
      if (holder !== conn) {
        if (holder !== undefined) this.dropUser(user);
        this.sql.exec("INSERT INTO users (user, conn, host, port) VALUES (?, ?, ?, ?)", user, conn, host, port);
        this.usersCache = null;
      }
      const counts = this.sql
        .exec<{ added: number | null; updated: number | null }>(
          `SELECT sum(f.path IS NULL) AS added,
                  sum(f.path IS NOT NULL AND (f.size != j.value->>'size' OR f.sha256 != j.value->>'sha256')) AS updated
           FROM json_each(?) j LEFT JOIN files f ON f.user = ? AND f.path = j.value->>'path'`,
          batch,
          user,
        )
        .one();
      const added = counts.added ?? 0;
      const current = holder === conn ? this.fileCount(user) : 0;
      if (current + added > maxFiles) {
        throw new ProtocolFailure("too-many-files", `"${user}" would offer ${current + added} files; at most ${maxFiles} are allowed per user`);
      }
      this.sql.exec(
        `INSERT INTO files (user, path, size, sha256)
         SELECT ?, j.value->>'path', j.value->>'size', j.value->>'sha256' FROM json_each(?) j WHERE true
         ON CONFLICT (user, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256`,
        user,
        batch,
      );
      return { added, updated: counts.updated ?? 0, total: current + added };
    });
  }

  /** Removes the paths the user offers; returns which were removed and which were unknown. */
  unregister(user: string, paths: readonly string[]): { removed: string[]; unknown: string[] } {
    const gone = new Set(
      this.sql
        .exec<{ path: string }>("DELETE FROM files WHERE user = ? AND path IN (SELECT value FROM json_each(?)) RETURNING path", user, JSON.stringify(paths))
        .toArray()
        .map((row) => row.path),
    );
    return { removed: paths.filter((p) => gone.has(p)), unknown: paths.filter((p) => !gone.has(p)) };
  }

  setAddress(user: string, host: string, port: number): void {
    this.sql.exec("UPDATE users SET host = ?, port = ? WHERE user = ?", host, port, user);
    this.usersCache = null;
  }

  dropUser(user: string): void {
    this.usersCache = null;
    this.transaction(() => {
      this.sql.exec("DELETE FROM files WHERE user = ?", user);
      this.sql.exec("DELETE FROM users WHERE user = ?", user);
    });
  }

  /** Forgets every user whose connection is not in `live`, with all their files. */
  dropUsersExcept(live: ReadonlyMap<string, string>): string[] {
    const rows = this.sql.exec<{ user: string; conn: string }>("SELECT user, conn FROM users").toArray();
    const ghosts = rows.filter((row) => live.get(row.conn) !== row.user).map((row) => row.user);
    for (const user of ghosts) this.dropUser(user);
    return ghosts;
  }

  listFiles(): FileListing[] {
    return this.sql
      .exec<{ user: string; path: string; size: number; sha256: string }>(
        "SELECT user, path, size, sha256 FROM files ORDER BY user, path",
      )
      .toArray()
      .map((row) => ({ user: row.user, path: row.path, size: row.size, sha256: row.sha256 }));
  }

  /** Asked for far more often than users come and go, so kept until they do. */
  listUsers(): UserAddress[] {
    this.usersCache ??= this.sql
      .exec<{ user: string; host: string; port: number }>("SELECT user, host, port FROM users ORDER BY user")
      .toArray()
      .map((row) => ({ user: row.user, host: row.host, port: row.port }));
    return this.usersCache;
  }
}
