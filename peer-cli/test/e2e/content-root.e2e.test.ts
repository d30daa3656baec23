/**
 * Content roots against the attack that sank downloads before them: fake
 * holders registered over the raw protocol with a real file's size and
 * identity, agreeing on a made-up piece map, beside one honest holder.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isReachabilityPush, pieceSizeFor, PROTOCOL_VERSION } from "@p2p/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir, startPeer, startTracker, waitFor, type PeerProcess, type Tracker } from "../../../scripts/processes.ts";
import { startFakeSource, type FakeSource } from "../fake-source.ts";
import { sha256 } from "../helpers.ts";

let tracker: Tracker;
let dir: string;
const peers: PeerProcess[] = [];
const fakes: FakeSource[] = [];
const sockets: WebSocket[] = [];

beforeAll(async () => {
  dir = await makeTempDir("p2p-roots-");
  tracker = await startTracker();
}, 120_000);

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all(fakes.map((f) => f.close()));
  await Promise.all(peers.map((p) => p.kill("SIGKILL")));
  await tracker?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Registers `user` as offering `file` over a raw tracker socket, advertising `port` as its mini-server. */
async function registerRaw(user: string, port: number, file: { path: string; size: number; root: string }): Promise<void> {
  const socket = new WebSocket(tracker.url);
  sockets.push(socket);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  const replies: string[] = [];
  socket.addEventListener("message", (event) => {
    // Replies only: the tracker also pushes a reachability report after hello.
    if (!isReachabilityPush(String(event.data))) replies.push(String(event.data));
  });
  socket.send(JSON.stringify({ id: 1, type: "hello", port, protocol: PROTOCOL_VERSION }));
  socket.send(JSON.stringify({ id: 2, type: "register", user, files: [file] }));
  await waitFor(`${user}'s register to be answered`, () => replies.length === 2);
  for (const reply of replies) expect(JSON.parse(reply).ok, reply).toBe(true);
}

describe("fake holders of a real file's identity", () => {
  it("cannot outvote the honest holder: the download succeeds from it and names every liar", async () => {
    const data = randomBytes(3 * 1024 * 1024);
    // Throttled (3 s for the file), so every fake's piece map surely comes in, and is judged, before the honest holder is done.
    const honest = await startPeer("Honest", tracker.url, dir, { args: ["--user", "Honest"], env: { P2P_TEST_THROTTLE_BPS: String(1024 * 1024) } });
    const downloader = await startPeer("Victim", tracker.url, dir, { args: ["--user", "Victim"] });
    peers.push(honest, downloader);
    await mkdir(join(dir, "files"), { recursive: true });
    const path = join(dir, "files", "real.bin");
    await writeFile(path, data);
    expect((await honest.run("register", "Honest", path)).code).toBe(0);

    // Everything a stranger needs is public: the listing gives the size and root.
    const listed = ((await (await fetch(`${tracker.http}/api/files`)).json()) as { user: string; path: string; size: number; root: string }[]).find((f) => f.path === path)!;
    const pieceSize = pieceSizeFor(data.length);
    const madeUpMap = randomBytes(Math.ceil(data.length / pieceSize) * 32);
    for (const name of ["Fake1", "Fake2", "Fake3"]) {
      const fake = await startFakeSource({ size: listed.size, claimedRoot: listed.root, leaves: madeUpMap, bytes: (_offset, length) => randomBytes(length) });
      fakes.push(fake);
      await registerRaw(name, fake.port, { path: `/srv/${name}/real.bin`, size: listed.size, root: listed.root });
    }
    await waitFor("the victim to know all four holders", async () => {
      const index = await readFile(join(downloader.home, "files.json"), "utf8").catch(() => "");
      return ["Honest", "Fake1", "Fake2", "Fake3"].every((user) => index.includes(`"user":"${user}"`));
    });

    const save = join(dir, "victim", "real.bin");
    const result = await downloader.run("download", "Honest", path, save, "--json");
    expect(result.code, result.stderr).toBe(0);
    expect(sha256(await readFile(save))).toBe(createHash("sha256").update(data).digest("hex"));
    const outcome = JSON.parse(result.stdout) as { root: string; sources: { user: string; pieces: number; dropped?: string }[] };
    expect(outcome.root).toBe(listed.root);
    expect(outcome.sources.find((s) => s.user === "Honest")?.pieces).toBe(Math.ceil(data.length / pieceSize));
    for (const name of ["Fake1", "Fake2", "Fake3"]) {
      expect(outcome.sources.find((s) => s.user === name)?.dropped, name).toMatch(/its piece map does not give the registered root .*: it lies about the content/);
    }
    // What the victim now offers is exactly what it verified.
    const mine = ((await (await fetch(`${tracker.http}/api/files`)).json()) as { user: string; path: string; root: string }[]).find((f) => f.user === "Victim");
    expect(mine).toMatchObject({ path: save, root: listed.root });
  });
});
