/**
 * The local `user – host:port` map (`<home>/users.txt`). Downloads resolve
 * users here only, so a download never needs the tracker.
 */
import { formatUsersFile, parseUsersFile, type UserAddress } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import { CachedList } from "./cached-list.ts";

const byName = (a: UserAddress, b: UserAddress) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0);

export class UserMap {
  readonly #list: CachedList<UserAddress>;
  #byName = new Map<string, UserAddress>();

  constructor(file: string) {
    this.#list = new CachedList(file, { parse: (text) => parseUsersFile(text).users, serialize: formatUsersFile });
  }

  get file(): string {
    return this.#list.file;
  }

  async load(): Promise<void> {
    await this.#list.load();
    this.#index();
  }

  async replace(users: readonly UserAddress[]): Promise<void> {
    await this.#list.replace([...users].sort(byName));
    this.#index();
  }

  #index(): void {
    this.#byName = new Map(this.#list.items.map((u) => [u.user, u]));
  }

  list(): UserAddress[] {
    return [...this.#list.items];
  }

  get refreshedAt(): Date | null {
    return this.#list.refreshedAt;
  }

  find(user: string): UserAddress | undefined {
    return this.#byName.get(user);
  }

  lookup(user: string, refreshSeconds: number): UserAddress {
    const found = this.#byName.get(user);
    if (found) return found;
    const refreshed = this.refreshedAt;
    const when = refreshed
      ? `last refreshed ${Math.round((Date.now() - refreshed.getTime()) / 1000)} s ago at ${refreshed.toLocaleTimeString()}`
      : "not refreshed yet";
    throw new PeerError("unknown-user", `unknown user "${user}" in the local map (${when}; it follows the tracker's changes, and is checked every ${refreshSeconds} s)`, EXIT.failed);
  }
}
