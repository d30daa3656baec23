/**
 * Property test on the mini-server's framing: random bytes and malformed
 * request lines never crash it, never get file bytes, always end the
 * connection, and leave no file handle or transfer behind.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTransferHeader } from "@p2p/shared";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { startMiniServer, type MiniServer } from "../src/mini-server/server.ts";
import { SourceConnection } from "../src/download/source-connection.ts";

let dir: string;
let server: MiniServer;
let offered: string;
let content: Buffer;

/** Sends raw bytes, then half-closes; resolves with everything the server said before closing. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", () => {});
    socket.on("close", () => resolve(Buffer.concat(chunks)));
    socket.on("connect", () => socket.end(bytes));
  });
}

const openFds = async () => (await readdir("/proc/self/fd")).length;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2p-prop-"));
  offered = join(dir, "offered.bin");
  content = randomBytes(1024 * 1024 + 7);
  await writeFile(offered, content);
  const files = new OfferedFiles();
  files.add({ path: offered, ...(await fingerprintFile(offered)) });
  server = await startMiniServer({ files, host: "127.0.0.1", headerTimeoutMs: 500, idleTimeoutMs: 2000 });
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

const requestLike = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(`${s}\n`)),
  fc.jsonValue().map((v) => Buffer.from(`${JSON.stringify(v)}\n`)),
  fc
    .record({
      v: fc.oneof(fc.constant(1), fc.anything()),
      op: fc.oneof(fc.constantFrom("get", "pieces", "range", "put"), fc.string()),
      path: fc.oneof(fc.string(), fc.constantFrom("/etc/passwd", "relative", "/a/../b")),
      offset: fc.oneof(fc.integer(), fc.double()),
      length: fc.oneof(fc.integer(), fc.double()),
    })
    .map((r) => Buffer.from(`${JSON.stringify(r)}\n`)),
);

describe("mini-server framing properties", () => {
  it("answers garbage with an error header or a close, never file bytes, and stays healthy", async () => {
    const fdsBefore = await openFds();
    const secret = content.subarray(0, 64);
    await fc.assert(
      fc.asyncProperty(requestLike, async (bytes) => {
        const answer = await exchange(server.port, bytes);
        // Nothing from the offered file leaks to a request that does not name it properly.
        expect(answer.includes(secret)).toBe(false);
        if (answer.length > 0) {
          const header = parseTransferHeader(answer.subarray(0, answer.indexOf(10)).toString("utf8"));
          expect(["bad-request", "not-found"]).toContain(header.status);
        }
      }),
      { numRuns: 300 },
    );
    // Still serves correctly, with nothing left open.
    const connection = await SourceConnection.open({ host: "127.0.0.1", port: server.port });
    const map = await connection.pieceMap(offered);
    const whole = await connection.range(offered, 0, content.length, { size: map.size, root: map.root });
    connection.close();
    expect(whole.equals(content)).toBe(true);
    // The server finishes its side a moment after the client has all the bytes.
    for (let i = 0; i < 50 && server.activeTransfers() > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.activeTransfers()).toBe(0);
    expect(await openFds()).toBeLessThanOrEqual(fdsBefore + 2);
  });
});
