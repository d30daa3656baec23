/**
 * The local `user – host:port` map. Downloads resolve users here only, so a
 * download never needs the tracker; the file is rewritten on each refresh.
 */
import { readFile, stat } from "node:fs/promises";
import { formatUsersFile, parseUsersFile, type UserAddress } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import { writeFileAtomic } from "../files/atomic-write.ts";

export class UserMap {
  private users = new Map<string, UserAddress>();
  private refreshed: Date | null = null;
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** Starts from the map a previous run left, so downloads work before the first refresh. */
  async load(): Promise<void> {
    try {
      const [text, info] = await Promise.all([readFile(this.file, "utf8"), stat(this.file)]);
      this.users = new Map(parseUsersFile(text).users.map((u) => [u.user, u]));
      this.refreshed = info.mtime;
    } catch {
      // No earlier map: start empty.
    }
  }

  async replace(users: readonly UserAddress[]): Promise<void> {
    const sorted = [...users].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    await writeFileAtomic(this.file, formatUsersFile(sorted));
    this.users = new Map(sorted.map((u) => [u.user, u]));
    this.refreshed = new Date();
  }

  list(): UserAddress[] {
    return [...this.users.values()];
  }

  get refreshedAt(): Date | null {
    return this.refreshed;
  }

  lookup(user: string, refreshSeconds: number): UserAddress {
    const found = this.users.get(user);
    if (found) return found;
    const when = this.refreshed
      ? `last refreshed ${Math.round((Date.now() - this.refreshed.getTime()) / 1000)} s ago at ${this.refreshed.toLocaleTimeString()}`
      : "not refreshed yet";
    throw new PeerError(
      "unknown-user",
      `unknown user "${user}" in the local map (${when}; it refreshes every ${refreshSeconds} s)`,
      EXIT.failed,
    );
  }
}
