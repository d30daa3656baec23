/**
 * Bundles the peer into one plain-JavaScript file, `peer-cli/dist/p2p-peer.mjs`,
 * with `@p2p/shared` and citty inlined, so the packed peer has no dependencies.
 * Runs after every install (`prepare`), before the tests and before
 * `npm pack -w peer-cli` (`prepack`). The bundle is what `p2p-peer` runs: it
 * starts faster and idles in about 45 MB less memory than the TypeScript
 * sources run through Node's type stripping.
 */
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");

const result = await build({
  entryPoints: [join(ROOT, "peer-cli/src/cli/run.ts")],
  outfile: join(ROOT, "peer-cli/dist/p2p-peer.mjs"),
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node22",
  sourcemap: true,
  logLevel: "warning",
  write: false,
});

// Written aside, then renamed: a peer starting during a rebuild (tests run
// while `npm pack` rebuilds) reads the old bundle or the new one, never half.
for (const file of result.outputFiles) {
  await mkdir(dirname(file.path), { recursive: true });
  const temporary = `${file.path}.${process.pid}.tmp`;
  await writeFile(temporary, file.contents);
  await rename(temporary, file.path);
}
