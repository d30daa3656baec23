/**
 * Where things live when the tracker is sharded (TRACKER_SHARDS > 1,
 * SCALING.md): a user on the shard its name hashes to, the global version on
 * the hub. With one shard (the default) there is one object, named as it
 * always was, and no hub.
 */
import { shardOfName } from "@p2p/shared";
import type { Tracker } from "../tracker/tracker.ts";

export { shardOfName };

export interface ShardPlace {
  index: number;
  count: number;
}

/**
 * The shard count configured, 1 when unset or unreadable; at most 256, since
 * a gathered read and a broadcast are one call to every shard (SCALING.md).
 */
export const MAX_SHARDS = 256;

export function shardCount(env: Cloudflare.Env): number {
  const n = Number(env.TRACKER_SHARDS);
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_SHARDS ? n : 1;
}

const SINGLE_NAME = "tracker";
const shardName = (index: number, count: number) => `shard-${index}/${count}`;
const hubName = (count: number) => `hub/${count}`;

/** The object of shard `index` (the one tracker object when there is one shard). */
export function shardStub(env: Cloudflare.Env, index: number, count = shardCount(env)): DurableObjectStub<Tracker> {
  return env.TRACKER.get(env.TRACKER.idFromName(count === 1 ? SINGLE_NAME : shardName(index, count)));
}

export const hubStub = (env: Cloudflare.Env, count = shardCount(env)) => env.HUB.get(env.HUB.idFromName(hubName(count)));

/** What an object named by shardStub is; null for the one tracker object, or a name it does not know. */
export function placeOf(name: string | undefined): ShardPlace | null {
  const match = name === undefined ? null : /^shard-(\d+)\/(\d+)$/.exec(name);
  if (!match) return null;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return index < count && count > 1 ? { index, count } : null;
}

export function allShards(env: Cloudflare.Env, count = shardCount(env)): DurableObjectStub<Tracker>[] {
  return Array.from({ length: count }, (_, i) => shardStub(env, i, count));
}

/** Any shard, to spread reads that every shard can answer (they fan out). */
export const anyShard = (env: Cloudflare.Env, count = shardCount(env)) => shardStub(env, Math.floor(Math.random() * count), count);
