#!/usr/bin/env node
// Runs the bundle built at install (peer-cli/dist), or the TypeScript sources
// directly when there is no bundle or a source file is newer than it.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `p2p-peer needs Node ≥ 22.18 (this is ${process.version}); run it through npm (npx p2p-peer …), which uses the project's Node 22\n`,
  );
  process.exit(1);
}

const here = import.meta.dirname;
const bundle = join(here, "../dist/p2p-peer.mjs");

/** The newest modification time of any file under these folders. */
function newest(folders) {
  let latest = 0;
  for (const folder of folders) {
    for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return latest;
}

const sources = [join(here, "../src"), join(here, "../../shared/src")].filter((folder) => existsSync(folder));
const fresh = existsSync(bundle) && statSync(bundle).mtimeMs >= newest(sources);
await import(fresh ? bundle : "../src/cli/run.ts");
