/**
 * `npm run build:binary`: the peer as one executable that needs no Node
 * installed (a Node single-executable application), `peer-cli/dist/sea/p2p-peer`,
 * for this machine's system and architecture. Built from registry packages
 * alone: this Node (the `node` devDependency), esbuild, and postject, which
 * npm fetches on first use. Not part of the tests: it writes about 100 MB.
 */
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { build } from "esbuild";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "peer-cli/dist/sea");
const POSTJECT = "postject@1.0.0-alpha.6";
/** The marker Node's SEA support looks for in its own binary. */
const FUSE = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

function run(file: string, args: string[]): Promise<void> {
  return new Promise((done, fail) => {
    execFile(file, args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? fail(new Error(`${file} ${args.join(" ")} failed:\n${stdout}${stderr}`)) : done(),
    );
  });
}

await rm(OUT, { recursive: true, force: true });
await mkdir(OUT, { recursive: true });

// Node 22 runs a single-executable's entry as CommonJS, where there is no
// top-level await, so the entry starts the CLI without awaiting it.
const entry = join(OUT, "p2p-peer.cjs");
await build({
  stdin: { contents: 'import { runCli } from "./main.ts";\nvoid runCli(process.argv.slice(2));\n', resolveDir: join(ROOT, "peer-cli/src/cli"), loader: "ts" },
  outfile: entry,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node22",
  logLevel: "warning",
});

const blob = join(OUT, "p2p-peer.blob");
const config = join(OUT, "sea-config.json");
await writeFile(config, JSON.stringify({ main: entry, output: blob, disableExperimentalSEAWarning: true }));
await run(process.execPath, ["--experimental-sea-config", config]);

const binary = join(OUT, "p2p-peer");
await copyFile(process.execPath, binary);
await chmod(binary, 0o755);
// Debug symbols are most of the binary and nothing the peer needs; skipped where `strip` is missing.
await run("strip", [binary]).catch(() => process.stderr.write("strip not found: the binary keeps its debug symbols\n"));
await run("npm", ["exec", "--yes", `--package=${POSTJECT}`, "--", "postject", binary, "NODE_SEA_BLOB", blob, "--sentinel-fuse", FUSE]);
await run(binary, ["--version"]);

const { size } = await stat(binary);
process.stdout.write(`${binary}: ${(size / 1024 / 1024).toFixed(1)} MiB\n`);
