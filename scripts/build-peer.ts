/**
 * Bundles the peer into one plain-JavaScript file, `peer-cli/dist/p2p-peer.mjs`.
 * Runs after every install (`prepare`) and before the tests. The bundle is
 * what `p2p-peer` runs: it starts faster and idles in about 45 MB less memory
 * than the TypeScript sources run through Node's type stripping.
 */
import { join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");

await build({
  entryPoints: [join(ROOT, "peer-cli/src/cli/run.ts")],
  outfile: join(ROOT, "peer-cli/dist/p2p-peer.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: true,
  logLevel: "warning",
});
