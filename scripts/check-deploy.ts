/**
 * `npm run check:deploy`: what `npm run deploy` would upload, built offline
 * with `wrangler deploy --dry-run`, and its size. CI runs it so a config or
 * bundling mistake shows up before someone deploys; it fails when the worker
 * would not fit the Workers Free plan (3 MiB gzipped).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { WRANGLER } from "./processes.ts";

const ROOT = resolve(import.meta.dirname, "..");
const FREE_PLAN_LIMIT = 3 * 1024 * 1024;

/** Builds into `outdir`; returns what went wrong, or null. */
async function check(outdir: string): Promise<string | null> {
  const failure = await new Promise<string | null>((done) => {
    execFile(
      process.execPath,
      [WRANGLER, "deploy", "--dry-run", "--outdir", outdir],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" } },
      (error, stdout, stderr) => done(error ? `${stdout}${stderr}` : null),
    );
  });
  if (failure !== null) return `wrangler deploy --dry-run failed:\n${failure}`;
  const scripts = (await readdir(outdir)).filter((name) => name.endsWith(".js"));
  const code = Buffer.concat(await Promise.all(scripts.map((name) => readFile(join(outdir, name)))));
  const gzipped = gzipSync(code).length;
  process.stdout.write(`tracker bundle (wrangler deploy --dry-run): ${kib(code.length)}, ${kib(gzipped)} gzipped\n`);
  return gzipped > FREE_PLAN_LIMIT ? `the tracker is over the Workers Free plan's ${kib(FREE_PLAN_LIMIT)} gzipped limit` : null;
}

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

const outdir = await mkdtemp(join(tmpdir(), "p2p-deploy-"));
const problem = await check(outdir).finally(() => rm(outdir, { recursive: true, force: true }));
if (problem !== null) {
  process.stderr.write(`${problem}\n`);
  process.exitCode = 1;
}
