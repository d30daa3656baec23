// Bindings from wrangler.jsonc, declared where the runtime's types expect them.
declare namespace Cloudflare {
  interface Env {
    TRACKER: DurableObjectNamespace<import("./tracker/tracker.ts").Tracker>;
    /** The sharded tracker's hub (shards/hub.ts); unused with one shard. */
    HUB: DurableObjectNamespace<import("./shards/hub.ts").TrackerHub>;
    /** Optional: how many tracker objects users are spread over (default 1: one object, no hub). SCALING.md. */
    TRACKER_SHARDS?: string;
    /** Optional: how long a silent peer stays listed, in ms (default 45000). */
    HEARTBEAT_TIMEOUT_MS?: string;
    /** Optional: how long a reachability probe may take, in ms (default 3000). */
    PROBE_TIMEOUT_MS?: string;
    /** Optional: "1" probes only loopback addresses (the tests set it, so no probe ever leaves the machine). */
    PROBE_LOOPBACK_ONLY?: string;
    /** Optional secret (`wrangler secret put P2P_TOKEN`): when set, /ws and /api/* need it. */
    P2P_TOKEN?: string;
    /** Optional overrides of the budgets in @p2p/shared, for benchmarks: see tracker/budgets/budgets.ts. */
    SOCKET_TOKENS_PER_SECOND?: string;
    MAX_SOCKETS_PER_ADDRESS?: string;
    MAX_CATALOG_BYTES?: string;
    /** Optional: how many live pages may watch at once (default MAX_OBSERVERS). */
    MAX_OBSERVERS?: string;
  }
  interface GlobalProps {
    mainModule: typeof import("./index.ts");
    durableNamespaces: "Tracker" | "TrackerHub";
  }
}
