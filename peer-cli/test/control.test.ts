/** The control socket between one-shot commands and the running peer: hostile replies, and a peer that must stop. */
import { mkdir } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sendCommand } from "../src/control/control-client.ts";
import { startControlServer } from "../src/control/control-server.ts";
import { PeerError } from "../src/errors.ts";
import { resolveHome } from "../src/peer/home.ts";
import { useSocketFixture } from "./helpers.ts";

const fixture = useSocketFixture("p2p-control-");

/** A fake peer on the home's control socket that answers every command with `reply`. */
async function fakePeer(reply: string) {
  const home = resolveHome(join(fixture.dir, `home-${Math.random().toString(36).slice(2)}`));
  await mkdir(home.dir, { recursive: true });
  const server = createServer((socket) => socket.once("data", () => socket.write(reply)));
  await new Promise<void>((resolve) => server.listen(home.controlSocket, resolve));
  fixture.cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return home;
}

async function rejection(promise: Promise<unknown>): Promise<PeerError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(PeerError);
  return error as PeerError;
}

describe("the control client", () => {
  it("turns a reply that is not JSON into a clear error instead of crashing", async () => {
    const home = await fakePeer("this is not json\n");
    const error = await rejection(sendCommand(home, { cmd: "status" }));
    expect(error.code).toBe("bad-reply");
    expect(error.message).toMatch(/malformed reply: the peer's reply is not JSON/);
  });

  it("refuses a well-formed reply whose result is not what the command returns", async () => {
    const home = await fakePeer(`${JSON.stringify({ id: 1, ok: true, result: { files: "everything" } })}\n`);
    const error = await rejection(sendCommand(home, { cmd: "list-files" }));
    expect(error.code).toBe("bad-reply");
    expect(error.message).toContain('"files" must be an array');
  });

  it("refuses an error reply with an exit code or error code outside the documented sets", async () => {
    const home = await fakePeer(`${JSON.stringify({ id: 1, ok: false, error: { code: "made-up", message: "x", exitCode: 42 } })}\n`);
    expect((await rejection(sendCommand(home, { cmd: "status" }))).code).toBe("bad-reply");
  });

  it("escapes control characters a reply smuggles into its error text", async () => {
    const home = await fakePeer("\u001b]0;pwned\u0007\n");
    const error = await rejection(sendCommand(home, { cmd: "status" }));
    expect(error.message).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe("the control server", () => {
  it("closes at once while commands are connected, ending them", async () => {
    const path = join(fixture.dir, "stop.sock");
    let started = 0;
    const aborted: boolean[] = [];
    const server = await startControlServer(path, (_request, _emit, signal) => {
      started++;
      return new Promise((_resolve, reject) => signal.addEventListener("abort", () => (aborted.push(true), reject(new Error("aborted")))));
    });
    const idle: Socket = createConnection(path);
    const busy: Socket = createConnection(path);
    const closedSockets = [idle, busy].map((s) => new Promise((resolve) => s.once("close", resolve)));
    await new Promise((resolve) => busy.once("connect", resolve));
    busy.write(`${JSON.stringify({ id: 1, cmd: "status" })}\n`);
    const deadline = Date.now() + 5000;
    while (started === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(started).toBe(1);

    const closed = await Promise.race([server.close().then(() => "closed"), new Promise((r) => setTimeout(() => r("still waiting"), 5000))]);
    expect(closed).toBe("closed");
    await Promise.all(closedSockets);
    expect(aborted).toEqual([true]);
  });
});
