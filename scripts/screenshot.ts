/**
 * `npm run screenshot`: the README's picture of the live page, made the way
 * a user would see it: a local `wrangler dev` tracker, three real peers
 * offering some of this repository's files (Bob has downloaded one of
 * Alice's), and the page in Debian's Chromium. Writes docs/live-page.png.
 */
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { ensureChromium } from "./chromium.ts";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess } from "./processes.ts";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "docs", "live-page.png");

const offers: Record<string, string[]> = {
  Alice: ["README.md", "BENCHMARKS.md", "SECURITY.md", "package.json"],
  Bob: ["wrangler.jsonc", "tsconfig.json"],
  Carol: ["worker/src/index.ts", "worker/src/tracker/tracker.ts", "peer-cli/src/cli/main.ts"],
};

const tracker = await startTracker();
const dir = await makeTempDir("p2p-screenshot-");
const peers: PeerProcess[] = [];
try {
  for (const [user, files] of Object.entries(offers)) {
    const peer = await startPeer(user.toLowerCase(), tracker.url, dir, { refresh: 3600, args: ["--user", user] });
    peers.push(peer);
    const registered = await peer.runIn(ROOT, "register", user, ...files.map((file) => join(ROOT, file)));
    if (registered.code !== 0) throw new Error(`${user} could not register: ${registered.stderr}`);
  }
  const bob = peers[1]!;
  const fetched = await bob.run("download", "Alice", join(ROOT, "README.md"), join(dir, "bob-downloads", "README.md"));
  if (fetched.code !== 0) throw new Error(`Bob's download failed: ${fetched.stderr}`);

  const browser = await chromium.launch({ executablePath: ensureChromium() });
  const page = await browser.newPage({ viewport: { width: 1100, height: 860 }, deviceScaleFactor: 1 });
  await page.goto(tracker.http + "/");
  await waitFor("the page to be live", async () => (await page.locator("#live-status").getAttribute("data-state")) === "live");
  await mkdir(join(ROOT, "docs"), { recursive: true });
  await page.screenshot({ path: OUT });
  await browser.close();
  process.stdout.write(`wrote ${OUT}\n`);
} finally {
  await Promise.all(peers.map((peer) => peer.kill()));
  await tracker.stop();
}
