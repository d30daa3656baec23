import { createHash, randomBytes } from "node:crypto";
import { appendFile, readFile, utimes, writeFile } from "node:fs/promises";
import net from "node:net";
import { encodeLine, MAX_RANGE_BYTES, parsePieceMapHeader, parseRangeHeader, parseTransferHeader, pieceSizeFor, TRANSFER_PROTOCOL_VERSION } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { PartFile } from "../src/download/part-file.ts";
import { runSwarm, type SourceReport } from "../src/download/swarm.ts";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { PieceMaps } from "../src/mini-server/piece-maps.ts";
import { SourceConnection } from "../src/download/source-connection.ts";
import { eventually, peerError, sha256, useSocketFixture, rootOf } from "./helpers.ts";

const HOST = "127.0.0.1";
const KiB = 1024;
const PIECE = 256 * KiB;

const fixture = useSocketFixture("p2p-pieces-");
const { cleanups, tempPath, serve, offer } = fixture;

const digest = (data: Buffer): Buffer => createHash("sha256").update(data).digest();

function expectedHashes(data: Buffer): Buffer[] {
  const pieceSize = pieceSizeFor(data.length);
  const hashes: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += pieceSize) hashes.push(digest(data.subarray(offset, offset + pieceSize)));
  return hashes;
}



async function connect(port: number, options: { idleTimeoutMs?: number; signal?: AbortSignal } = {}): Promise<SourceConnection> {
  const connection = await SourceConnection.open({ host: HOST, port, owner: "Pesho", ...options });
  cleanups.push(() => connection.close());
  return connection;
}



/** Sends raw bytes and collects everything the server sends until it closes. */
function rawExchange(port: number, request: string | Buffer, endAfter = false): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port }, () => (endAfter ? socket.end(request) : socket.write(request)));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

/** Splits a reply into its header line and the rest. */
function splitHeader(reply: Buffer): [string, Buffer] {
  const newline = reply.indexOf(0x0a);
  expect(newline).toBeGreaterThan(0);
  return [reply.subarray(0, newline).toString("utf8"), reply.subarray(newline + 1)];
}

/** A throwaway server that reads request lines and answers however `onRequests` likes. */
async function rawServer(onData: (socket: net.Socket, received: string) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("utf8");
      onData(socket, received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as net.AddressInfo).port;
}

describe("piece maps", () => {
  it.each([
    ["an empty file", 0],
    ["a 1-byte file", 1],
    ["a file of exactly one piece", PIECE],
    ["a file of several pieces with a short last one", 3 * PIECE + 1000],
    ["a file of whole pieces", 2 * PIECE],
  ])("are correct for %s", async (_name, size) => {
    const files = new OfferedFiles();
    const data = randomBytes(size);
    const path = await offer(files, "file.bin", data);
    const server = await serve(files);
    const connection = await connect(server.port);

    const map = await connection.pieceMap(path);

    expect(map.size).toBe(size);
    expect(map.root).toBe(rootOf(data));
    expect(map.pieceSize).toBe(PIECE);
    expect(map.hashes.map((h) => h.toString("hex"))).toEqual(expectedHashes(data).map((h) => h.toString("hex")));
    expect(connection.outstanding).toBe(0);
    expect(connection.closed).toBe(false);
  });

  it("sends the header and count × 32 raw digests", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(2 * PIECE + 5);
    const path = await offer(files, "raw.bin", data);
    const server = await serve(files);

    const [line, body] = splitHeader(await rawExchange(server.port, encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "pieces", path }), true));

    expect(parsePieceMapHeader(line)).toEqual({ status: "ok", size: data.length, root: rootOf(data), pieceSize: PIECE, count: 3 });
    expect(body.equals(Buffer.concat(expectedHashes(data)))).toBe(true);
  });

  it("are computed once, shared by concurrent requests, and recomputed for a re-registered file", async () => {
    const files = new OfferedFiles();
    const first = randomBytes(3 * PIECE);
    const path = await offer(files, "cached.bin", first);
    const pieceMaps = new PieceMaps();
    const server = await serve(files, { pieceMaps });

    const connections = await Promise.all(Array.from({ length: 5 }, () => connect(server.port)));
    const maps = await Promise.all(connections.map((c) => c.pieceMap(path)));
    expect(pieceMaps.computations).toBe(1);
    for (const map of maps) expect(map.root).toBe(rootOf(first));

    await connections[0]!.pieceMap(path);
    expect(pieceMaps.computations).toBe(1);

    const second = randomBytes(2 * PIECE + 7);
    await writeFile(path, second);
    files.add({ path, ...(await fingerprintFile(path)) });
    const map = await connections[1]!.pieceMap(path);
    expect(pieceMaps.computations).toBe(2);
    expect(map.root).toBe(rootOf(second));
    expect(map.hashes.map((h) => h.toString("hex"))).toEqual(expectedHashes(second).map((h) => h.toString("hex")));
  });

  it("keep at most maxEntries, dropping the least recently used", async () => {
    const files = new OfferedFiles();
    const paths = [];
    for (let i = 0; i < 3; i++) paths.push(await offer(files, `f${i}`, randomBytes(100 + i)));
    const pieceMaps = new PieceMaps({ maxEntries: 2 });
    const [a, b, c] = paths.map((p) => files.get(p)!);

    await pieceMaps.get(a!);
    await pieceMaps.get(b!);
    await pieceMaps.get(a!); // a is now the most recently used
    await pieceMaps.get(c!); // drops b
    expect(pieceMaps.computations).toBe(3);
    expect(pieceMaps.size).toBe(2);
    await pieceMaps.get(a!);
    expect(pieceMaps.computations).toBe(3);
    await pieceMaps.get(b!);
    expect(pieceMaps.computations).toBe(4);
  });

  it("answers changed for a file rewritten after registration", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "rewritten.bin", randomBytes(1000));
    const server = await serve(files);
    await appendFile(path, "more");
    const connection = await connect(server.port);

    const error = await peerError(connection.pieceMap(path));

    expect(error.code).toBe("changed");
    expect(error.message).toContain("changed on disk since it was registered");
    expect(connection.closed).toBe(true);
  });

  it("answers changed when the content does not hash to the registered sha256", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "liar.bin", randomBytes(1000));
    files.add({ ...files.get(path)!, root: "0".repeat(64) });
    const pieceMaps = new PieceMaps();
    const server = await serve(files, { pieceMaps });

    expect((await peerError((await connect(server.port)).pieceMap(path))).code).toBe("changed");
    // A failure is not cached.
    expect((await peerError((await connect(server.port)).pieceMap(path))).code).toBe("changed");
    expect(pieceMaps.computations).toBe(2);
  });

  it("answers not-found for a path that is not registered", async () => {
    const server = await serve(new OfferedFiles());
    const error = await peerError((await connect(server.port)).pieceMap("/nowhere"));
    expect(error.code).toBe("not-found");
    expect(error.message).toBe("/nowhere is not offered by this peer");
  });
});

describe("ranges", () => {
  it("return each piece's bytes, on one connection", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(4 * PIECE + 333);
    const path = await offer(files, "pieces.bin", data);
    const server = await serve(files);
    const connection = await connect(server.port);
    const map = await connection.pieceMap(path);

    for (let i = 0; i < map.hashes.length; i++) {
      const offset = i * map.pieceSize;
      const length = Math.min(map.pieceSize, data.length - offset);
      const piece = await connection.range(path, offset, length, map);
      expect(piece.equals(data.subarray(offset, offset + length))).toBe(true);
      expect(digest(piece).equals(map.hashes[i]!)).toBe(true);
    }
    await eventually(() => server.activeTransfers() === 0, "all transfers finished");
  });

  it("answer 50 pipelined requests correctly and in order", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(3 * 1024 * KiB + 17);
    const path = await offer(files, "pipelined.bin", data);
    const server = await serve(files);
    const connection = await connect(server.port);
    const expect_ = { size: data.length, root: rootOf(data) };

    const ranges = Array.from({ length: 50 }, (_, i) => {
      const length = 1 + ((i * 7919 * 13) % (200 * KiB));
      const offset = (i * 104_729) % (data.length - length);
      return { offset, length };
    });
    const order: number[] = [];
    const promises = ranges.map(({ offset, length }, i) =>
      connection.range(path, offset, length, expect_).then((body) => {
        order.push(i);
        return body;
      }),
    );
    expect(connection.outstanding).toBe(50);
    const bodies = await Promise.all(promises);

    for (const [i, { offset, length }] of ranges.entries()) {
      expect(bodies[i]!.equals(data.subarray(offset, offset + length))).toBe(true);
    }
    expect(order).toEqual(ranges.map((_, i) => i));
    expect(connection.outstanding).toBe(0);
  });

  it("are answered in order when several requests arrive in one chunk, then a get ends the connection", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(5000);
    const path = await offer(files, "chunk.bin", data);
    const server = await serve(files);
    const requests =
      encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 10, length: 5 }) +
      encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "pieces", path }) +
      encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 4990, length: 10 }) +
      encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "get", path }) +
      encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 0, length: 1 });

    let rest = await rawExchange(server.port, requests);

    let line: string;
    [line, rest] = splitHeader(rest);
    expect(parseRangeHeader(line, 10, 5)).toEqual({ status: "ok", size: 5000, root: rootOf(data), offset: 10, length: 5 });
    expect(rest.subarray(0, 5).equals(data.subarray(10, 15))).toBe(true);
    [line, rest] = splitHeader(rest.subarray(5));
    expect(parsePieceMapHeader(line)).toMatchObject({ status: "ok", count: 1 });
    expect(rest.subarray(0, 32).equals(digest(data))).toBe(true);
    [line, rest] = splitHeader(rest.subarray(32));
    expect(parseRangeHeader(line, 4990, 10).status).toBe("ok");
    expect(rest.subarray(0, 10).equals(data.subarray(4990))).toBe(true);
    [line, rest] = splitHeader(rest.subarray(10));
    expect(parseTransferHeader(line)).toEqual({ status: "ok", size: 5000, root: rootOf(data) });
    // The whole file, and nothing for the range asked after the get.
    expect(rest.equals(data)).toBe(true);
  });

  it("answers everything a half-closed client asked, then ends the connection", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(100);
    const path = await offer(files, "half.bin", data);
    const server = await serve(files);
    const requests = encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 0, length: 50 }) + encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 50, length: 50 });

    let rest = await rawExchange(server.port, requests, true);

    let line: string;
    [line, rest] = splitHeader(rest);
    expect(parseRangeHeader(line, 0, 50).status).toBe("ok");
    [line, rest] = splitHeader(rest.subarray(50));
    expect(parseRangeHeader(line, 50, 50).status).toBe("ok");
    expect(rest.equals(data.subarray(50))).toBe(true);
  });

  it("past the end of the file is a bad request that ends the connection", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(1000);
    const path = await offer(files, "short.bin", data);
    const server = await serve(files);
    const connection = await connect(server.port);
    const expect_ = { size: 1000, root: rootOf(data) };

    const good = connection.range(path, 0, 1000, expect_);
    const bad = connection.range(path, 900, 101, expect_);
    const after = connection.range(path, 0, 1, expect_);

    expect((await good).equals(data)).toBe(true);
    const error = await peerError(bad);
    expect(error.code).toBe("bad-request");
    expect(error.message).toBe(`the range of 101 bytes at 900 passes the end of ${path}, which has 1000 bytes`);
    expect(await peerError(after)).toBe(error);
    expect(connection.closed).toBe(true);
    expect(await peerError(connection.range(path, 0, 1, expect_))).toBe(error);
  });

  it("of a file changed since registration answer changed", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "changing.bin", randomBytes(1000));
    const registered = files.get(path)!;
    const server = await serve(files);
    await writeFile(path, randomBytes(1000));
    // Same size, and on a coarse clock maybe the same mtime: make the change one any file system shows.
    const longAgo = new Date("2020-01-01T00:00:00Z");
    await utimes(path, longAgo, longAgo);
    const connection = await connect(server.port);

    const error = await peerError(connection.range(path, 0, 10, registered));

    expect(error.code).toBe("changed");
  });

  it("reject changed when the source serves another version than expected, leaving the connection usable", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(1000);
    const path = await offer(files, "version.bin", data);
    const server = await serve(files);
    const connection = await connect(server.port);

    const stale = connection.range(path, 0, 1000, { size: 1000, root: "f".repeat(64) });
    const fresh = connection.range(path, 0, 1000, { size: 1000, root: rootOf(data) });

    const error = await peerError(stale);
    expect(error.code).toBe("changed");
    expect(error.message).toContain("now serves another version");
    expect((await fresh).equals(data)).toBe(true);
    expect(connection.closed).toBe(false);
  });

  it("are corrupted on purpose with corruptRanges: first byte flipped, header unchanged", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(2 * PIECE);
    const path = await offer(files, "corrupt.bin", data);
    const server = await serve(files, { corruptRanges: true });
    const connection = await connect(server.port);
    const map = await connection.pieceMap(path);
    expect(map.root).toBe(rootOf(data));

    for (const offset of [0, PIECE]) {
      const piece = await connection.range(path, offset, PIECE, map);
      const wanted = data.subarray(offset, offset + PIECE);
      expect(piece[0]).toBe(wanted[0]! ^ 0xff);
      expect(piece.subarray(1).equals(wanted.subarray(1))).toBe(true);
      expect(digest(piece).equals(map.hashes[offset / PIECE]!)).toBe(false);
    }
  });

  it("survive a client that vanishes mid-range", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(MAX_RANGE_BYTES);
    const path = await offer(files, "vanish.bin", data);
    const logs: string[] = [];
    const server = await serve(files, { log: (line) => logs.push(line) });

    await new Promise<void>((resolve, reject) => {
      let received = 0;
      const socket = net.connect({ host: HOST, port: server.port }, () =>
        socket.write(encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 0, length: MAX_RANGE_BYTES }).repeat(3)),
      );
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= 1024 * KiB) socket.destroy();
      });
      socket.on("error", reject);
      socket.on("close", () => resolve());
    });

    await eventually(() => server.activeTransfers() === 0, "the abandoned range was cleaned up");
    await eventually(() => logs.some((line) => line.includes("stopped")), "the server noticed");
    const connection = await connect(server.port);
    const body = await connection.range(path, 5, 10, { size: data.length, root: rootOf(data) });
    expect(body.equals(data.subarray(5, 15))).toBe(true);
  });
});

describe("SourceConnection against misbehaving or absent peers", () => {
  it("rejects every outstanding range as truncated when the server closes mid-range", async () => {
    const port = await rawServer((socket, received) => {
      if (received.split("\n").length < 4) return; // wait for all three requests
      socket.write(encodeLine({ status: "ok", size: 1000, root: "a".repeat(64), offset: 0, length: 100 }));
      socket.end(Buffer.alloc(40));
    });
    const connection = await connect(port);
    const expect_ = { size: 1000, root: "a".repeat(64) };
    const ranges = [0, 100, 200].map((offset) => connection.range("/f", offset, 100, expect_));

    const errors = await Promise.all(ranges.map(peerError));

    for (const error of errors) {
      expect(error.code).toBe("truncated");
      expect(error.message).toBe(`Pesho's mini-server at ${HOST}:${port} closed the connection after 40 of 100 bytes`);
    }
    expect(connection.closed).toBe(true);
    expect(connection.outstanding).toBe(0);
    expect((await peerError(connection.range("/f", 0, 1, expect_))).code).toBe("truncated");
  });

  it("handles answers split at every byte", async () => {
    const body = randomBytes(64);
    const sha = sha256(body);
    const reply = Buffer.concat([
      Buffer.from(encodeLine({ status: "ok", size: 64, root: sha, offset: 0, length: 32 })),
      body.subarray(0, 32),
      Buffer.from(encodeLine({ status: "ok", size: 64, root: sha, offset: 32, length: 32 })),
      body.subarray(32),
    ]);
    const port = await rawServer((socket, received) => {
      if (received.split("\n").length < 3) return;
      void (async () => {
        for (const byte of reply) {
          socket.write(Buffer.from([byte]));
          await new Promise((resolve) => setImmediate(resolve));
        }
      })();
    });
    const connection = await connect(port);

    const [a, b] = await Promise.all([0, 32].map((offset) => connection.range("/f", offset, 32, { size: 64, root: sha })));

    expect(Buffer.concat([a!, b!]).equals(body)).toBe(true);
  });

  it("accepts answers whose bodies share a chunk with their headers", async () => {
    const body = randomBytes(100);
    const sha = sha256(body);
    // Both answers in a single write, so each body starts in its header's chunk.
    const reply = Buffer.concat([
      Buffer.from(encodeLine({ status: "ok", size: 100, root: sha, offset: 0, length: 60 })),
      body.subarray(0, 60),
      Buffer.from(encodeLine({ status: "ok", size: 100, root: sha, offset: 60, length: 40 })),
      body.subarray(60),
    ]);
    const port = await rawServer((socket, received) => {
      if (received.split("\n").length === 3) socket.write(reply);
    });
    const connection = await connect(port);

    const [a, b] = await Promise.all([connection.range("/f", 0, 60, { size: 100, root: sha }), connection.range("/f", 60, 40, { size: 100, root: sha })]);

    expect(Buffer.concat([a, b]).equals(body)).toBe(true);
    expect(connection.outstanding).toBe(0);
    expect(connection.closed).toBe(false);
  });

  it("reports a peer that closes without answering as truncated", async () => {
    const port = await rawServer((socket) => socket.end());
    const connection = await connect(port);

    const error = await peerError(connection.range("/f", 0, 10, { size: 10, root: "a".repeat(64) }));

    expect(error.code).toBe("truncated");
    expect(error.message).toBe(`Pesho's mini-server at ${HOST}:${port} closed the connection with 1 request unanswered`);
  });

  it("reports bytes beyond the answer asked for as bad-reply", async () => {
    const sha = "a".repeat(64);
    const port = await rawServer((socket) => socket.write(Buffer.concat([Buffer.from(encodeLine({ status: "ok", size: 100, root: sha, offset: 0, length: 10 })), Buffer.alloc(11)])));
    const connection = await connect(port);

    // The answer itself is complete and delivered; the extra byte ends the connection.
    expect((await connection.range("/f", 0, 10, { size: 100, root: sha })).length).toBe(10);
    await eventually(() => connection.closed, "the connection failed");
    const error = await peerError(connection.range("/f", 0, 10, { size: 100, root: sha }));
    expect(error.code).toBe("bad-reply");
    expect(error.message).toBe(`Pesho's mini-server at ${HOST}:${port} sent data that was not asked for`);
  });

  it("reports a malformed header as bad-reply", async () => {
    const port = await rawServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const error = await peerError((await connect(port)).pieceMap("/f"));
    expect(error.code).toBe("bad-reply");
  });

  it("reports a range header for another range as bad-reply", async () => {
    const port = await rawServer((socket) => socket.write(encodeLine({ status: "ok", size: 1000, root: "a".repeat(64), offset: 1, length: 10 })));
    const error = await peerError((await connect(port)).range("/f", 0, 10, { size: 1000, root: "a".repeat(64) }));
    expect(error.code).toBe("bad-reply");
  });

  it("reports a piece map breaking the piece rules as bad-reply", async () => {
    const port = await rawServer((socket) => socket.write(encodeLine({ status: "ok", size: 1000, root: "a".repeat(64), pieceSize: 1000, count: 1 })));
    const error = await peerError((await connect(port)).pieceMap("/f"));
    expect(error.code).toBe("bad-reply");
  });

  it("reports a peer that stops sending as stalled", async () => {
    const port = await rawServer((socket) => socket.write(encodeLine({ status: "ok", size: 1000, root: "a".repeat(64), offset: 0, length: 100 })));
    const connection = await connect(port, { idleTimeoutMs: 100 });
    const error = await peerError(connection.range("/f", 0, 100, { size: 1000, root: "a".repeat(64) }));
    expect(error.code).toBe("stalled");
  });

  it("stays open while idle with nothing outstanding", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(10);
    const path = await offer(files, "idle.bin", data);
    const server = await serve(files);
    const connection = await connect(server.port, { idleTimeoutMs: 50 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connection.closed).toBe(false);
    expect((await connection.range(path, 0, 10, { size: 10, root: rootOf(data) })).equals(data)).toBe(true);
  });

  it("reports a refused connection as unreachable", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, HOST, () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const error = await peerError(SourceConnection.open({ host: HOST, port: closedPort, owner: "Pesho" }));
    expect(error.code).toBe("unreachable");
    expect(error.message).toBe(`cannot reach Pesho's mini-server at ${HOST}:${closedPort}: ECONNREFUSED`);
  });

  it("stops when aborted, and when closed", async () => {
    const port = await rawServer(() => {});
    const controller = new AbortController();
    const connection = await connect(port, { signal: controller.signal });
    const pending = connection.range("/f", 0, 10, { size: 10, root: "a".repeat(64) });
    setTimeout(() => controller.abort(), 20);
    expect((await peerError(pending)).code).toBe("aborted");
    expect(connection.closed).toBe(true);

    const other = await connect(port);
    const waiting = other.pieceMap("/f");
    other.close();
    expect((await peerError(waiting)).code).toBe("aborted");
  });

  it("rejects at once when opened with an aborted signal", async () => {
    const port = await rawServer(() => {});
    const controller = new AbortController();
    controller.abort();
    expect((await peerError(SourceConnection.open({ host: HOST, port, signal: controller.signal }))).code).toBe("aborted");
  });
});

describe("the downloader's hash check", () => {
  /** A source that answers every range with a correct header but random bytes. */
  async function lyingServer(size: number, sha: string): Promise<number> {
    const answered = new WeakMap<net.Socket, number>();
    return rawServer((socket, received) => {
      const lines = received.split("\n").slice(0, -1);
      for (const line of lines.slice(answered.get(socket) ?? 0)) {
        const { offset, length } = JSON.parse(line) as { offset: number; length: number };
        socket.write(Buffer.concat([Buffer.from(encodeLine({ status: "ok", size, root: sha, offset, length })), randomBytes(length)]));
      }
      answered.set(socket, lines.length);
    });
  }

  it("drops a source whose bytes do not match the piece map, and gets them elsewhere", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(4 * PIECE + 100);
    const path = await offer(files, "honest.bin", data);
    const honest = await serve(files);
    const honestConnection = await connect(honest.port);
    const map = await honestConnection.pieceMap(path);
    const liarConnection = await connect(await lyingServer(data.length, rootOf(data)));
    const save = tempPath("saved.bin");
    const { part, have } = await PartFile.create(save, map);
    const dropped: SourceReport[] = [];

    // The liar comes first, so it is asked for every piece before the honest source gets any.
    const result = await runSwarm({
      sources: [
        { user: "liar", path: "/anything", connection: liarConnection },
        { user: "honest", path, connection: honestConnection },
      ],
      map,
      part,
      have,
      onPiece: () => {},
      onProgress: () => {},
      onDrop: (report) => dropped.push(report),
    });

    expect(result.complete).toBe(true);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toMatchObject({ user: "liar", pieces: 0, bytes: 0 });
    expect(dropped[0]!.dropped).toMatch(/^piece \d+ failed its hash check$/);
    expect(result.sources.find((s) => s.user === "honest")).toEqual({ user: "honest", pieces: map.hashes.length, bytes: data.length });
    expect(result.refetched).toBeGreaterThan(0);
    await part.complete(false);
    expect((await readFile(save)).equals(data)).toBe(true);
  });
});
