/**
 * Where a sharded tracker keeps a user (SCALING.md): on the shard its name
 * hashes to. Written once, for the tracker and for the tools that model or
 * load it.
 */

/** FNV-1a over UTF-16 code units: stable across deploys and runtimes. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

export const shardOfName = (name: string, shards: number): number => fnv1a32(name) % shards;
