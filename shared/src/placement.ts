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

/**
 * murmur3's finalizer: every output bit depends on every input bit. FNV's
 * multiply only carries upward, so without it `% N` (N a power of two) would
 * see only the low bits of each character: `Alice1` and `alice1` would always
 * share a shard, and 256 shards would spread names unevenly.
 */
export function fmix32(hash: number): number {
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return (hash ^ (hash >>> 16)) >>> 0;
}

export const shardOfName = (name: string, shards: number): number => fmix32(fnv1a32(name)) % shards;
