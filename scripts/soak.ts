/**
 * `npm run soak`: 200 peers on loopback connecting, registering, downloading
 * and disconnecting at random for a bounded time against a real `wrangler dev`
 * tracker; then the tracker's view must match the live peers exactly, and
 * every completed download must have verified. Not part of `npm test`.
 *
 *   npm run soak -- --peers 200 --seconds 60
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { resolveHome } from "../peer-cli/src/peer/home.ts";
import { inProcessTransport } from "../peer-cli/src/cli/transport.ts";
import { startPeer, type RunningPeer } from "../peer-cli/src/peer/start-peer.ts";
import { makeTempDir, startTracker, waitFor } from "./processes.ts";

const { values } = parseArgs({ options: { peers: { type: "string", default: "200" }, seconds: { type: "string", default: "60" } } });
const PEERS = Number(values.peers);
const SECONDS = Number(values.seconds);

const dir = await makeTempDir("p2p-soak-");
// Every peer here connects from 127.0.0.1: lift the tracker's bound on sockets per address.
const tracker = await startTracker({ vars: { MAX_SOCKETS_PER_ADDRESS: String(PEERS * 2) } });
const log = (line: string) => process.stdout.write(`${line}\n`);
log(`soak: ${PEERS} peers for ${SECONDS} s against ${tracker.url} (work in ${dir})`);

// A small pool of contents, so most files have several holders.
const pool: { name: string; data: Buffer; sha256: string }[] = [];
for (let i = 0; i < 20; i++) {
  const data = randomBytes(64 * 1024 + Math.floor(Math.random() * 1024 * 1024));
  pool.push({ name: `content-${i}.bin`, data, sha256: createHash("sha256").update(data).digest("hex") });
}

interface Slot {
  index: number;
  name: string;
  peer: RunningPeer | null;
  busy: boolean;
}
const slots: Slot[] = Array.from({ length: PEERS, }, (_, index) => ({ index, name: `soak${index}`, peer: null, busy: false }));
const stats = { starts: 0, stops: 0, registers: 0, unregisters: 0, downloads: 0, verified: 0, failedDownloads: 0, errors: 0 };
const problems: string[] = [];
const errorKinds = new Map<string, number>();

async function startSlot(slot: Slot): Promise<void> {
  const home = resolveHome(join(dir, slot.name));
  slot.peer = await startPeer({ home, tracker: tracker.url, port: 0, bind: "127.0.0.1", user: slot.name, refreshSeconds: 2, log: () => {}, fresh: true });
  stats.starts++;
}

async function registerSome(slot: Slot): Promise<void> {
  const peer = slot.peer!;
  const picks = Array.from({ length: 1 + Math.floor(Math.random() * 3) }, () => pool[Math.floor(Math.random() * pool.length)]!);
  const paths: string[] = [];
  for (const content of picks) {
    const path = join(dir, slot.name, "files", content.name);
    await mkdir(join(dir, slot.name, "files"), { recursive: true });
    await writeFile(path, content.data);
    paths.push(path);
  }
  await inProcessTransport(peer.peer)({ cmd: "register", user: slot.name, paths });
  stats.registers++;
}

async function downloadOne(slot: Slot): Promise<void> {
  const peer = slot.peer!;
  const index = JSON.parse(await readFile(join(dir, slot.name, "files.json"), "utf8").catch(() => "[]")) as { user: string; path: string; root: string }[];
  const others = index.filter((f) => f.user !== slot.name);
  if (others.length === 0) return;
  const target = others[Math.floor(Math.random() * others.length)]!;
  const save = join(dir, slot.name, "downloads", `${stats.downloads}-${target.user}.bin`);
  stats.downloads++;
  try {
    const outcome = await inProcessTransport(peer.peer)({ cmd: "download", user: target.user, path: target.path, save, force: true, singleSource: false });
    const sha = createHash("sha256").update(await readFile(save)).digest("hex");
    const content = pool.find((c) => target.path.endsWith(`/${c.name}`));
    if (sha !== content?.sha256 || outcome.root !== target.root) problems.push(`download ${save} does not verify`);
    else stats.verified++;
  } catch {
    // Sources leave all the time in a soak; a failed download must just leave no file behind.
    stats.failedDownloads++;
    if (await readFile(save).then(() => true, () => false)) problems.push(`failed download left ${save}`);
  }
}

async function act(slot: Slot): Promise<void> {
  slot.busy = true;
  try {
    if (!slot.peer) return await startSlot(slot);
    const roll = Math.random();
    if (roll < 0.3) await registerSome(slot);
    else if (roll < 0.7) await downloadOne(slot);
    else if (roll < 0.8) {
      const offered = slot.peer.peer.offered();
      if (offered.length > 0) {
        await inProcessTransport(slot.peer.peer)({ cmd: "unregister", user: slot.name, paths: [offered[0]!.path] });
        stats.unregisters++;
      }
    } else if (roll < 0.9) {
      await slot.peer.stop();
      slot.peer = null;
      stats.stops++;
    }
  } catch (error) {
    stats.errors++;
    const kind = (error as Error).message.replace(/soak\d+|\/[^\s;:]+/g, "…").slice(0, 80);
    errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1);
  } finally {
    slot.busy = false;
  }
}

const deadline = Date.now() + SECONDS * 1000;
let lastReport = Date.now();
while (Date.now() < deadline) {
  // Up to 20 new actions per tick, each on a different idle peer: one action per peer at a time.
  const idle = slots.filter((s) => !s.busy);
  for (let i = 0; i < Math.min(20, idle.length); i++) {
    const [slot] = idle.splice(Math.floor(Math.random() * idle.length), 1);
    void act(slot!);
  }
  await new Promise((r) => setTimeout(r, 50));
  if (Date.now() - lastReport > 10_000) {
    lastReport = Date.now();
    log(`soak: ${slots.filter((s) => s.peer).length} peers up; ${JSON.stringify(stats)}`);
  }
}
await waitFor("activity to settle", () => slots.every((s) => !s.busy), 60_000);

// The tracker's view must be exactly the live peers and what they offer.
const expectedUsers = slots.filter((s) => s.peer?.peer.name).map((s) => s.name).sort();
const expectedFiles = slots.flatMap((s) => (s.peer?.peer.name ? s.peer.peer.offered().map((f) => `${s.name} : ${f.path}`) : [])).sort();
let users: string[] = [];
let files: string[] = [];
try {
  await waitFor(
    "the tracker to match the live peers",
    async () => {
      users = ((await (await fetch(`${tracker.http}/api/users`)).json()) as { user: string }[]).map((u) => u.user).sort();
      files = ((await (await fetch(`${tracker.http}/api/files`)).json()) as { user: string; path: string }[]).map((f) => `${f.user} : ${f.path}`).sort();
      return JSON.stringify(users) === JSON.stringify(expectedUsers) && JSON.stringify(files) === JSON.stringify(expectedFiles);
    },
    15_000,
  );
} catch {
  const extra = files.filter((f) => !expectedFiles.includes(f)).slice(0, 5);
  const missing = expectedFiles.filter((f) => !files.includes(f)).slice(0, 5);
  problems.push(
    `tracker view differs: ${users.length} users (expected ${expectedUsers.length}), ${files.length} files (expected ${expectedFiles.length}); ` +
      `extra ${JSON.stringify(extra)}, missing ${JSON.stringify(missing)}`,
  );
}

await Promise.all(slots.map((s) => s.peer?.stop()));
await tracker.stop();
await rm(dir, { recursive: true, force: true });
log(`soak: ${JSON.stringify(stats)}`);
for (const [kind, count] of errorKinds) log(`soak: ${count} × ${kind}`);
if (problems.length > 0) {
  for (const problem of problems.slice(0, 20)) log(`soak: PROBLEM ${problem}`);
  process.exit(1);
}
log(`soak: ok — ${expectedUsers.length} live peers and ${expectedFiles.length} files match the tracker exactly; ${stats.verified} downloads verified`);
process.exit(0);
