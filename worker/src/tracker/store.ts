/**
 * The tracker's durable state in the object's SQLite storage. It survives
 * hibernation and restarts; `dropUsersExcept` clears what no socket backs.
 */
import type { FileEntry, FileListing, UserAddress } from "@p2p/shared";

export interface UpsertCounts {
  added: number;
  updated: number;
  total: number;
}

export class TrackerStore {
  private readonly sql: SqlStorage;
  private readonly transaction: <T>(fn: () => T) => T;

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

  /** How many of `paths` the user does not offer yet. */
  countNewPaths(user: string, paths: readonly string[]): number {
    let fresh = 0;
    for (const path of paths) {
      const hit = this.sql.exec("SELECT 1 FROM files WHERE user = ? AND path = ?", user, path).toArray().length;
      if (hit === 0) fresh++;
    }
    return fresh;
  }

  /** Binds `user` to a connection (replacing any stale holder) and adds or updates files, all or nothing. */
  register(user: string, conn: string, host: string, port: number, files: readonly FileEntry[]): UpsertCounts {
    return this.transaction(() => {
      const holder = this.holderOf(user);
      if (holder !== conn) {
        if (holder !== undefined) this.dropUser(user);
        this.sql.exec("INSERT INTO users (user, conn, host, port) VALUES (?, ?, ?, ?)", user, conn, host, port);
      }
      let added = 0;
      let updated = 0;
      for (const file of files) {
        const old = this.sql
          .exec<{ size: number; sha256: string }>("SELECT size, sha256 FROM files WHERE user = ? AND path = ?", user, file.path)
          .toArray()[0];
        if (!old) added++;
        else if (old.size !== file.size || old.sha256 !== file.sha256) updated++;
        this.sql.exec(
          `INSERT INTO files (user, path, size, sha256) VALUES (?, ?, ?, ?)
           ON CONFLICT (user, path) DO UPDATE SET size = excluded.size, sha256 = excluded.sha256`,
          user,
          file.path,
          file.size,
          file.sha256,
        );
      }
      return { added, updated, total: this.fileCount(user) };
    });
  }

  /** Removes the paths the user offers; returns which were removed and which were unknown. */
  unregister(user: string, paths: readonly string[]): { removed: string[]; unknown: string[] } {
    return this.transaction(() => {
      const removed: string[] = [];
      const unknown: string[] = [];
      for (const path of paths) {
        const cursor = this.sql.exec("DELETE FROM files WHERE user = ? AND path = ?", user, path);
        (cursor.rowsWritten > 0 ? removed : unknown).push(path);
      }
      return { removed, unknown };
    });
  }

  setAddress(user: string, host: string, port: number): void {
    this.sql.exec("UPDATE users SET host = ?, port = ? WHERE user = ?", host, port, user);
  }

  dropUser(user: string): void {
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

  listUsers(): UserAddress[] {
    return this.sql
      .exec<{ user: string; host: string; port: number }>("SELECT user, host, port FROM users ORDER BY user")
      .toArray()
      .map((row) => ({ user: row.user, host: row.host, port: row.port }));
  }
}
