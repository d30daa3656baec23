/**
 * Which tracker object a request goes to. With one shard (the default),
 * always the one object. Sharded, a peer's socket goes to its name's shard
 * (`?user=`), or any shard before it has a name; reads go to any shard,
 * which asks the others (SCALING.md).
 */
import { checkUserName } from "@p2p/shared";
import { anyShard, shardCount, shardOfName, shardStub } from "./shards/placement.ts";

/** The object that answers a read: every shard can, by asking the others. */
export const trackerOf = (env: Cloudflare.Env) => anyShard(env);

/** The object a socket is accepted by. A malformed `user` routes nowhere in particular: the name is refused when registered. */
export function socketHome(env: Cloudflare.Env, user: string | undefined) {
  const count = shardCount(env);
  if (count === 1 || user === undefined) return anyShard(env, count);
  try {
    return shardStub(env, shardOfName(checkUserName(user), count), count);
  } catch {
    return anyShard(env, count);
  }
}
