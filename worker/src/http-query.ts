/**
 * The query strings of GET /api/files and GET /api/users, read into the same
 * queries as a paged WebSocket request and checked the same way: a bad value
 * is refused with its specific code, and so is a parameter the route does
 * not take (a misspelt filter would otherwise list everything).
 */
import {
  ProtocolFailure,
  checkDigest,
  checkLimit,
  checkQuery,
  checkUserName,
  readFileCursor,
  readUserCursor,
} from "@p2p/shared";
import type { FilesQuery, UsersQuery } from "./tracker/paging.ts";

type Readers<Q> = { [K in keyof Q]-?: (text: string) => Q[K] };

/** Digits only: Number() would also take "1e3", " 5" or "0x10". */
const readLimit = (text: string): number => checkLimit(/^[0-9]{1,9}$/.test(text) ? Number(text) : text);

const filesParams: Readers<FilesQuery> = {
  user: checkUserName,
  q: checkQuery,
  root: checkDigest,
  limit: readLimit,
  cursor: (text) => (readFileCursor(text), text),
};

const usersParams: Readers<UsersQuery> = {
  limit: readLimit,
  cursor: (text) => (readUserCursor(text), text),
};

/** Null without parameters: the whole listing, as documented. */
function readQuery<Q extends object>(params: URLSearchParams, readers: Readers<Q>): Q | null {
  const keys = [...new Set(params.keys())];
  if (keys.length === 0) return null;
  const query: Record<string, unknown> = {};
  for (const key of keys) {
    if (!Object.hasOwn(readers, key)) {
      throw new ProtocolFailure("bad-message", `unknown parameter ${JSON.stringify(key.slice(0, 40))}; this route takes ${Object.keys(readers).join(", ")}`);
    }
    const values = params.getAll(key);
    if (values.length > 1) throw new ProtocolFailure("bad-message", `"${key}" is given ${values.length} times; give it once`);
    query[key] = (readers as Record<string, (text: string) => unknown>)[key]!(values[0]!);
  }
  return query as Q;
}

export const readFilesQuery = (params: URLSearchParams): FilesQuery | null => readQuery(params, filesParams);
export const readUsersQuery = (params: URLSearchParams): UsersQuery | null => readQuery(params, usersParams);
