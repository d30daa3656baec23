/**
 * `npm run demo`: the whole exchange on the local default, narrated. Uses the
 * tracker on 127.0.0.1:8787 if one is running (npm start), else starts one.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess } from "./processes.ts";

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s: string) => process.stdout.write(`\n${bold(`▶ ${s}`)}\n`);
const indent = (text: string) => text.trimEnd().split("\n").filter(Boolean).map((l) => `    ${l}`).join("\n");

async function show(peer: PeerProcess, ...args: string[]): Promise<void> {
  process.stdout.write(`  ${peer.name}$ p2p-peer ${args.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")}\n`);
  const result = await peer.run(...args);
  if (result.stdout.trim()) process.stdout.write(`${indent(result.stdout)}\n`);
  if (result.stderr.trim()) process.stdout.write(`${indent(result.stderr)}\n`);
  process.stdout.write(`    (exit ${result.code})\n`);
}

const DEFAULT_PORT = 8787;
const running = await fetch(`http://127.0.0.1:${DEFAULT_PORT}/health`).then((r) => r.ok, () => false);
step(running ? `using the tracker already running on 127.0.0.1:${DEFAULT_PORT}` : `starting a tracker (wrangler dev) on 127.0.0.1:${DEFAULT_PORT}`);
const tracker = running ? null : await startTracker({ port: DEFAULT_PORT });
const trackerUrl = `ws://127.0.0.1:${DEFAULT_PORT}/ws`;

const dir = await makeTempDir("p2p-demo-");
const peers: PeerProcess[] = [];
try {
  step(`starting three peers, homes under ${dir}`);
  const [alice, bob, carol] = await Promise.all(
    ["Alice", "Bob", "Carol"].map((name) => startPeer(name, trackerUrl, dir, { refresh: 2, args: ["--user", name] })),
  );
  peers.push(alice!, bob!, carol!);
  for (const p of peers) process.stdout.write(`    ${p.name}: ${p.logs().split("\n").find((l) => l.includes("mini-server listening"))?.replace("[p2p-peer] ", "")}\n`);

  const files = join(dir, "alice-files");
  await mkdir(files);
  const photo = join(files, "holiday.jpg");
  const notes = join(files, "notes.txt");
  await writeFile(photo, randomBytes(8 * 1024 * 1024));
  await writeFile(notes, "Remember the milk.\n");

  step("Alice offers two files");
  await show(alice!, "register", "Alice", `${photo},`, notes);

  step("anyone can list what is offered (asks the tracker)");
  await show(bob!, "list-files");

  step("every peer keeps a local user map, refreshed from the tracker");
  await waitFor("Carol's map to list everyone", async () => {
    const text = await readFile(join(carol!.home, "users.txt"), "utf8").catch(() => "");
    return ["Alice", "Bob", "Carol"].every((u) => text.includes(`${u} – `));
  });
  process.stdout.write(`  Carol$ cat ${join(carol!.home, "users.txt")}\n${indent(await readFile(join(carol!.home, "users.txt"), "utf8"))}\n`);

  step("Carol downloads the photo straight from Alice's mini-server, then offers it herself");
  const carolCopy = join(dir, "carol-files", "holiday.jpg");
  await show(carol!, "download", "Alice", photo, carolCopy);
  await show(bob!, "list-files");

  step("Bob downloads it from Carol");
  await show(bob!, "download", "Carol", carolCopy, join(dir, "bob-files", "holiday.jpg"));

  step("mistakes get clear errors");
  await show(bob!, "download", "Alice", "/etc/passwd", join(dir, "bob-files", "passwd"));
  await show(bob!, "download", "Dave", photo, join(dir, "bob-files", "x"));

  step("Alice stops: her files disappear from the tracker at once");
  await alice!.kill();
  await waitFor("Alice's files to disappear", async () => !(await bob!.run("list-files")).stdout.includes("Alice :"));
  await show(bob!, "list-files");
  step("done");
} finally {
  await Promise.all(peers.map((p) => p.kill()));
  await tracker?.stop();
  await rm(dir, { recursive: true, force: true });
}
