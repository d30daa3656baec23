/**
 * The local `user – host:port` map (`<home>/users.txt`). Downloads resolve
 * users here only, so a download never needs the tracker. Whether each user
 * was reachable comes with the tracker's list and is kept in memory only:
 * users.txt keeps the assignment's line format, so a map read back from it
 * knows nothing about reachability until the next refresh.
 */
import { formatUsersFile, parseUsersFile, type ListedUser } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import { CachedList } from "./cached-list.ts";

const byName = (a: ListedUser, b: ListedUser) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);

export class UserMap {
  readonly #list: CachedList<ListedUser>;
  #byName = new Map<string, ListedUser>();

  constructor(file: string) {
    this.#list = new CachedList<ListedUser>(file, {
      parse: (text) => parseUsersFile(text).users.map((u) => ({ ...u, reachable: null })),
      serialize: formatUsersFile,
    });
  }

  get file(): string {
    return this.#list.file;
  }

  async load(): Promise<void> {
    await this.#list.load();
    this.#index();
  }

  async replace(users: readonly ListedUser[]): Promise<void> {
    await this.#list.replace([...users].sort(byName));
    this.#index();
  }

  #index(): void {
    this.#byName = new Map(this.#list.items.map((u) => [u.user, u]));
  }

  list(): ListedUser[] {
    return [...this.#list.items];
  }

  get refreshedAt(): Date | null {
    return this.#list.refreshedAt;
  }

  find(user: string): ListedUser | undefined {
    return this.#byName.get(user);
  }

  lookup(user: string, refreshSeconds: number): ListedUser {
    const found = this.#byName.get(user);
    if (found) return found;
    const refreshed = this.refreshedAt;
    const when = refreshed
      ? `last refreshed ${Math.round((Date.now() - refreshed.getTime()) / 1000)} s ago at ${refreshed.toLocaleTimeString()}`
      : "not refreshed yet";
    throw new PeerError("unknown-user", `unknown user "${user}" in the local map (${when}; it follows the tracker's changes, and is checked every ${refreshSeconds} s)`, EXIT.failed);
  }
}
