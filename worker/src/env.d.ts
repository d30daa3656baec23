// Bindings from wrangler.toml, declared where the runtime's types expect them.
declare namespace Cloudflare {
  interface Env {
    TRACKER: DurableObjectNamespace<import("./tracker/tracker.ts").Tracker>;
  }
  interface GlobalProps {
    mainModule: typeof import("./index.ts");
    durableNamespaces: "Tracker";
  }
}
