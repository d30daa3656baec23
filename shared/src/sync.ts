/**
 * Versions, and a peer's copy of the catalog kept current from the
 * tracker's snapshots and change sets. Applying a change set is idempotent
 * and keyed (a user by name, a file by user and path), so a change set from
 * version A to B turns any copy at a version between A and B into B; that is
 * also what makes a snapshot read in pages while the catalog moves, then
 * brought up with the changes since the first page, exact.
 */
import type { ChangeSet, FileListing, ListedUser, Version } from "./protocol.ts";
import { ProtocolFailure } from "./validate.ts";

const VERSION_PATTERN = /^([0-9a-z]{1,16})-(0|[1-9][0-9]{0,14})$/;

export function checkVersion(value: unknown): Version {
  if (typeof value !== "string" || !VERSION_PATTERN.test(value)) {
    throw new ProtocolFailure("invalid-version", `a version is "<epoch>-<number>" as the tracker wrote it, got ${JSON.stringify(value)?.slice(0, 40)}`);
  }
  return value;
}

export function parseVersion(version: Version): { epoch: string; seq: number } {
  const match = VERSION_PATTERN.exec(version);
  if (!match) throw new ProtocolFailure("invalid-version", `not a version: ${JSON.stringify(version.slice(0, 40))}`);
  return { epoch: match[1]!, seq: Number(match[2]) };
}

export const formatVersion = (epoch: string, seq: number): Version => `${epoch}-${seq}`;

/** Whether `version` may be ahead of `known`: later in the same epoch, or from another one. */
export function isNewer(version: Version, known: Version | null): boolean {
  if (known === null) return true;
  const a = parseVersion(version);
  const b = parseVersion(known);
  return a.epoch !== b.epoch || a.seq > b.seq;
}

const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Which parts of the catalog a change set touched. */
export interface Touched {
  users: boolean;
  files: boolean;
}

export class Catalog {
  readonly #users = new Map<string, ListedUser>();
  readonly #files = new Map<string, Map<string, FileListing>>();

  addUsers(users: readonly ListedUser[]): void {
    for (const user of users) this.#users.set(user.user, user);
  }

  addFiles(files: readonly FileListing[]): void {
    for (const file of files) {
      let mine = this.#files.get(file.user);
      if (!mine) this.#files.set(file.user, (mine = new Map()));
      mine.set(file.path, file);
    }
  }

  apply(changes: ChangeSet): Touched {
    for (const user of changes.goneUsers) {
      this.#users.delete(user);
      this.#files.delete(user);
    }
    for (const { user, path } of changes.goneFiles) {
      const mine = this.#files.get(user);
      mine?.delete(path);
      if (mine?.size === 0) this.#files.delete(user);
    }
    this.addUsers(changes.users);
    this.addFiles(changes.files);
    return {
      users: changes.goneUsers.length > 0 || changes.users.length > 0,
      files: changes.goneUsers.length > 0 || changes.goneFiles.length > 0 || changes.files.length > 0,
    };
  }

  /** Sorted by name, as the tracker lists them. */
  userList(): ListedUser[] {
    return [...this.#users.keys()].sort(byKey).map((user) => this.#users.get(user)!);
  }

  /** Sorted by user, then path, as the tracker lists them. */
  fileList(): FileListing[] {
    return [...this.#files.keys()].sort(byKey).flatMap((user) => {
      const mine = this.#files.get(user)!;
      return [...mine.keys()].sort(byKey).map((path) => mine.get(path)!);
    });
  }
}
