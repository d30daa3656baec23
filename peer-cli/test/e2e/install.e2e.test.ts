/**
 * The peer as someone on another machine gets it: `npm pack -w peer-cli`,
 * installed globally into a temporary prefix with an empty cache and no
 * network, then run from outside the repository against a real tracker.
 */
import { execFile, type ExecFileException } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { delimiter, dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startPeer, startTracker, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";

const ROOT = resolve(import.meta.dirname, "../../..");

let dir: string;
let prefix: string;
let installed: string;
let tracker: Tracker;
let peer: PeerProcess | undefined;

/** Only this Node and the system's basic tools: nothing from the repository's node_modules. */
const outsidePath = [dirname(process.execPath), "/usr/bin", "/bin"].join(delimiter);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((done) => {
    execFile(file, args, { ...options, maxBuffer: 16 * 1024 * 1024 }, (error: ExecFileException | null, stdout, stderr) => {
      done({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

/** npm with this Node, without the settings `npm test` passes its scripts (npm_config_*). */
function npm(args: string[], cwd: string): Promise<Ran> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")));
  return run("npm", args, { cwd, env: { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}` } });
}

beforeAll(async () => {
  dir = await makeTempDir("p2p-install-");
  prefix = join(dir, "prefix");
  const packed = await npm(["pack", "-w", "peer-cli", "--pack-destination", dir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  const [tarball] = (await readdir(dir)).filter((name) => /^p2p-peer-.*\.tgz$/.test(name));
  expect(tarball).toBeDefined();
  // An empty cache and --offline: any dependency at all would fail the install.
  const install = await npm(
    ["install", "--global", "--prefix", prefix, "--cache", join(dir, "cache"), "--offline", "--no-audit", "--no-fund", join(dir, tarball ?? "")],
    dir,
  );
  expect(install.code, install.stderr).toBe(0);
  installed = join(prefix, "bin", "p2p-peer");
  tracker = await startTracker();
}, 180_000);

afterAll(async () => {
  await peer?.kill();
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

describe("the packed peer", () => {
  it("ships the bundle, the bin wrapper and package.json, and depends on nothing", async () => {
    const root = join(prefix, "lib", "node_modules", "p2p-peer");
    const files = (await readdir(root, { recursive: true })).sort();
    expect(files).toEqual(["bin", "bin/p2p-peer.js", "dist", "dist/p2p-peer.mjs", "dist/p2p-peer.mjs.map", "package.json"]);
    const manifest = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.dependencies).toBeUndefined();
  });

  it("runs --help from outside the repository", async () => {
    const help = await run(installed, ["--help"], { cwd: "/", env: { ...process.env, PATH: outsidePath } });
    expect(help.code, help.stderr).toBe(0);
    expect(help.stdout).toContain("start|register|unregister|list-files|download|users|status");
  });

  it("starts a real peer against a tracker, and what it registers is listed", async () => {
    peer = await startPeer("Installed", tracker.url, dir, { bin: installed, args: ["--user", "Installed"], env: { PATH: outsidePath } });
    const file = join(dir, "offered.txt");
    await writeFile(file, "from an installed peer\n");
    const registered = await peer.runIn("/", "register", "Installed", file);
    expect(registered.code, registered.stderr).toBe(0);
    const listed = (await (await fetch(`${tracker.http}/api/files`)).json()) as Array<{ user: string; path: string }>;
    expect(listed).toContainEqual(expect.objectContaining({ user: "Installed", path: file }));
    const status = await peer.runIn("/", "status", "--json");
    expect(JSON.parse(status.stdout)).toMatchObject({ user: "Installed", trackerConnected: true });
  });

  it("tells a user with an old Node what to install", async (context) => {
    const old = await olderNode();
    if (old === undefined) return context.skip("no Node older than 22.12 on this machine's PATH");
    const result = await run(old, [installed, "--help"], { cwd: "/" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("p2p-peer needs Node.js ≥ 22.12");
    expect(result.stderr).toContain("install it from https://nodejs.org or your package manager");
  });
});

/** A `node` on PATH, outside any node_modules, older than the package needs (the system's, on CI). */
async function olderNode(): Promise<string | undefined> {
  for (const folder of (process.env.PATH ?? "").split(delimiter)) {
    if (folder === "" || folder.includes("node_modules")) continue;
    const candidate = join(folder, "node");
    const version = await run(candidate, ["--version"], { cwd: "/" });
    const [major = 0, minor = 0] = version.stdout.trim().replace(/^v/, "").split(".").map(Number);
    if (version.code === 0 && (major < 22 || (major === 22 && minor < 12))) return candidate;
  }
  return undefined;
}
