#!/usr/bin/env node
// Starts p2p-peer. An installed package has only the bundle (dist/), which it
// runs. In a checkout of the repository the TypeScript sources run instead
// whenever one is newer than the bundle, so an edit is never run stale.
// Written for any Node, so that an old one gets a message, not a crash.
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, "../dist/p2p-peer.mjs");
const checkout = existsSync(join(here, "../src"));

/** The lowest Node the bundle runs on, from package.json's engines (">=22.12"). */
function minimumNode() {
  const { engines } = JSON.parse(readFileSync(join(here, "../package.json"), "utf8"));
  const [, major = "22", minor = "0"] = /(\d+)\.(\d+)/.exec(engines?.node ?? "") ?? [];
  return [Number(major), Number(minor)];
}

// The sources need type stripping without a flag (Node 22.18).
const [needMajor, needMinor] = checkout ? [22, 18] : minimumNode();
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < needMajor || (major === needMajor && minor < needMinor)) {
  process.stderr.write(
    checkout
      ? `p2p-peer needs Node ≥ ${needMajor}.${needMinor} (this is ${process.version}); run it through npm (npx p2p-peer …), which uses the project's Node 22\n`
      : `p2p-peer needs Node.js ≥ ${needMajor}.${needMinor} (this is ${process.version}); install it from https://nodejs.org or your package manager, then run p2p-peer again\n`,
  );
  process.exit(1);
}

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

if (!checkout && !existsSync(bundle)) {
  process.stderr.write(`p2p-peer: ${bundle} is missing; reinstall the package\n`);
  process.exit(1);
}
const sources = () => [join(here, "../src"), join(here, "../../shared/src")].filter((folder) => existsSync(folder));
const fresh = !checkout || (existsSync(bundle) && statSync(bundle).mtimeMs >= newest(sources()));
await import(fresh ? pathToFileURL(bundle).href : "../src/cli/run.ts");
