import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rename, rm, symlink, unlink, writeFile, appendFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeLine, MAX_TRANSFER_HEADER_BYTES, parseTransferHeader, type TransferHeader } from "@p2p/shared";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EXIT, PeerError } from "../src/errors.ts";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { fetchFromPeer } from "../src/mini-server/fetch-from-peer.ts";
import { startMiniServer, type MiniServer, type MiniServerOptions } from "../src/mini-server/server.ts";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;

let dir: string;
let counter = 0;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "p2p-mini-server-"));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const tempPath = (name: string): string => join(dir, `${++counter}-${name}`);

async function serve(files: OfferedFiles, options: Partial<MiniServerOptions> = {}): Promise<MiniServer> {
  const server = await startMiniServer({ files, host: HOST, port: 0, ...options });
  cleanups.push(() => server.close());
  return server;
}

async function offer(files: OfferedFiles, name: string, data: Buffer): Promise<string> {
  const path = tempPath(name);
  await writeFile(path, data);
  files.add({ path, ...(await fingerprintFile(path)) });
  return path;
}

/** Sends raw bytes and collects everything the server sends until it closes. */
function rawExchange(port: number, request: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port }, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

/** The single header line of a reply that must carry no body. */
function onlyHeader(reply: Buffer): TransferHeader {
  const newline = reply.indexOf(0x0a);
  expect(newline).toBeGreaterThan(0);
  expect(reply.length).toBe(newline + 1);
  return parseTransferHeader(reply.subarray(0, newline).toString("utf8"));
}

const getLine = (path: string): Buffer => Buffer.from(encodeLine({ v: 1, op: "get", path }));

async function fetchError(promise: Promise<unknown>): Promise<PeerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PeerError);
  expect((error as PeerError).exitCode).toBe(EXIT.downloadFailed);
  return error as PeerError;
}

async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** A throwaway server speaking the protocol wrongly, for testing the client. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on("error", () => {});
    socket.once("data", () => onConnection(socket));
  });
  const sockets = new Set<net.Socket>();
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
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

describe("serving registered files", () => {
  it("serves a file of a few MiB byte for byte, reporting progress", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(3 * MiB + 17);
    const path = await offer(files, "big.bin", data);
    const server = await serve(files);
    const to = tempPath("download");
    const progress: Array<[number, number]> = [];

    const result = await fetchFromPeer({ host: HOST, port: server.port, path, to, onProgress: (r, t) => progress.push([r, t]) });

    expect(result).toEqual({ size: data.length, sha256: sha256(data) });
    expect((await readFile(to)).equals(data)).toBe(true);
    expect(progress.at(-1)).toEqual([data.length, data.length]);
  });

  it("serves an empty file", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "empty", Buffer.alloc(0));
    const server = await serve(files);
    const to = tempPath("download");

    const result = await fetchFromPeer({ host: HOST, port: server.port, path, to });

    expect(result).toEqual({ size: 0, sha256: sha256(Buffer.alloc(0)) });
    expect((await readFile(to)).length).toBe(0);
  });

  it("answers not-found for a path that is not registered", async () => {
    const files = new OfferedFiles();
    await offer(files, "shared.txt", Buffer.from("hello"));
    const server = await serve(files);
    const secret = tempPath("secret.txt");
    await writeFile(secret, "not offered");
    const to = tempPath("download");

    const error = await fetchError(fetchFromPeer({ host: HOST, port: server.port, path: secret, to }));

    expect(error.code).toBe("not-found");
    expect(error.message).toContain("is not offered by this peer");
    expect(existsSync(to)).toBe(false);
  });

  it("does not resolve '..' in a requested path", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "registered.txt", Buffer.from("hello"));
    await mkdir(join(dir, "x"), { recursive: true });
    const sneaky = join(dir, "x") + "/../" + path.slice(dir.length + 1);

    const reply = await rawExchange((await serve(files)).port, getLine(sneaky));

    expect(onlyHeader(reply).status).toBe("not-found");
  });

  it("answers changed, with no bytes, for a file rewritten after registration", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "notes.txt", Buffer.from("version one"));
    const server = await serve(files);
    await appendFile(path, " and then some");

    const header = onlyHeader(await rawExchange(server.port, getLine(path)));

    expect(header).toEqual({
      status: "changed",
      message: `${path} changed on disk since it was registered; its owner must register it again`,
    });
  });

  it("answers changed for a file replaced by another one of the same size", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "report.txt", Buffer.from("AAAA"));
    const server = await serve(files);
    const replacement = tempPath("replacement");
    await writeFile(replacement, "BBBB");
    await rename(replacement, path);

    expect(onlyHeader(await rawExchange(server.port, getLine(path))).status).toBe("changed");
  });

  it("answers changed when a registered symlink is pointed at another file", async () => {
    const files = new OfferedFiles();
    const first = tempPath("first");
    const second = tempPath("second");
    await writeFile(first, "same size");
    await writeFile(second, "SAME SIZE");
    const link = tempPath("link");
    await symlink(first, link);
    files.add({ path: link, ...(await fingerprintFile(link)) });
    const server = await serve(files);

    await unlink(link);
    await symlink(second, link);

    expect(onlyHeader(await rawExchange(server.port, getLine(link))).status).toBe("changed");
  });

  it("answers changed for a registered file that was deleted", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "gone.txt", Buffer.from("bye"));
    const server = await serve(files);
    await unlink(path);

    const error = await fetchError(fetchFromPeer({ host: HOST, port: server.port, path, to: tempPath("download") }));
    expect(error.code).toBe("changed");
  });

  it("serves 20 parallel downloads of one file correctly", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(2 * MiB);
    const path = await offer(files, "popular.bin", data);
    const server = await serve(files);

    const targets = Array.from({ length: 20 }, (_, i) => tempPath(`copy-${i}`));
    const results = await Promise.all(targets.map((to) => fetchFromPeer({ host: HOST, port: server.port, path, to })));

    for (const [i, result] of results.entries()) {
      expect(result.sha256).toBe(sha256(data));
      expect((await readFile(targets[i]!)).equals(data)).toBe(true);
    }
    await eventually(() => server.activeTransfers() === 0, "all transfers finished");
  });

  it("survives a client that disconnects mid-transfer, without disturbing another download", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(64 * MiB);
    const path = await offer(files, "huge.bin", data);
    const logs: string[] = [];
    const server = await serve(files, { log: (line) => logs.push(line) });

    // A client that reads a little and then vanishes.
    const quitter = new Promise<number>((resolve, reject) => {
      let received = 0;
      const socket = net.connect({ host: HOST, port: server.port }, () => socket.write(getLine(path)));
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= MiB) socket.destroy();
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(received));
    });
    const to = tempPath("patient");
    const patient = fetchFromPeer({ host: HOST, port: server.port, path, to });

    expect(await quitter).toBeLessThan(data.length);
    expect((await patient).sha256).toBe(sha256(data));
    expect((await readFile(to)).equals(data)).toBe(true);

    await eventually(() => server.activeTransfers() === 0, "the abandoned transfer was cleaned up");
    expect(logs.filter((line) => line.includes("stopped"))).toHaveLength(1);
    if (existsSync("/proc/self/fd")) {
      const openOnFile = (): number =>
        readdirSync("/proc/self/fd").filter((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`) === path;
          } catch {
            return false;
          }
        }).length;
      await eventually(() => openOnFile() === 0, "the server closed its file handles");
    }

    const small = await offer(files, "after.txt", Buffer.from("still working"));
    const after = tempPath("after");
    await fetchFromPeer({ host: HOST, port: server.port, path: small, to: after });
    expect(await readFile(after, "utf8")).toBe("still working");
  });
});

describe("refusing bad requests", () => {
  it("answers bad-request for a request line that is not JSON", async () => {
    const server = await serve(new OfferedFiles());
    const header = onlyHeader(await rawExchange(server.port, "GET / HTTP/1.0\r\n\r\n"));
    expect(header).toEqual({ status: "bad-request", message: "the request is not JSON" });
  });

  it("answers bad-request, naming the problem, for a well-formed but wrong request", async () => {
    const server = await serve(new OfferedFiles());
    const header = onlyHeader(await rawExchange(server.port, encodeLine({ v: 1, op: "put", path: "/x" })));
    expect(header.status).toBe("bad-request");
    expect(header.status !== "ok" && header.message).toContain("unknown operation");
  });

  it("answers bad-request for a header that never ends", async () => {
    const server = await serve(new OfferedFiles());
    const header = onlyHeader(await rawExchange(server.port, Buffer.alloc(MAX_TRANSFER_HEADER_BYTES + 100, "a")));
    expect(header.status).toBe("bad-request");
  });

  it("closes a connection that sends no request in time", async () => {
    const server = await serve(new OfferedFiles(), { headerTimeoutMs: 100 });
    expect((await rawExchange(server.port, '{"v":1,')).length).toBe(0);
  });

  it("answers busy beyond maxConnections, and serves again once a slot frees up", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "file.txt", Buffer.from("content"));
    const server = await serve(files, { maxConnections: 2 });

    const idle: net.Socket[] = [];
    for (let i = 0; i < 2; i++) {
      const socket = net.connect({ host: HOST, port: server.port });
      socket.on("error", () => {});
      await new Promise((resolve) => socket.once("connect", resolve));
      idle.push(socket);
    }

    expect(onlyHeader(await rawExchange(server.port, getLine(path))).status).toBe("busy");
    const error = await fetchError(fetchFromPeer({ host: HOST, port: server.port, path, to: tempPath("download") }));
    expect(error.code).toBe("busy");

    idle[0]!.destroy();
    let reply = "";
    await eventually(async () => {
      reply = (await rawExchange(server.port, getLine(path))).toString();
      return !reply.includes('"busy"');
    }, "a slot is free again");
    expect(reply.endsWith("\ncontent")).toBe(true);
    idle[1]!.destroy();
  });

  it("close() stops listening and drops open connections", async () => {
    const server = await startMiniServer({ files: new OfferedFiles(), host: HOST, port: 0 });
    const socket = net.connect({ host: HOST, port: server.port });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    const closed = new Promise((resolve) => socket.once("close", resolve));

    await server.close();
    await closed;
    const error = await fetchError(fetchFromPeer({ host: HOST, port: server.port, path: "/x", to: tempPath("d") }));
    expect(error.code).toBe("unreachable");
  });
});

describe("fetchFromPeer against misbehaving peers", () => {
  it("rejects a file whose SHA-256 does not match the header", async () => {
    const body = Buffer.from("the real bytes");
    const wrong = sha256(Buffer.from("something else"));
    // Header and body in one write, so the body starts in the header's chunk.
    const port = await rawServer((socket) => socket.end(Buffer.concat([Buffer.from(encodeLine({ status: "ok", size: body.length, sha256: wrong })), body])));

    const error = await fetchError(fetchFromPeer({ host: HOST, port, path: "/f", to: tempPath("d") }));

    expect(error.code).toBe("corrupt");
    expect(error.message).toBe(`SHA-256 mismatch: expected ${wrong}, got ${sha256(body)}`);
  });

  it("accepts a body that arrives in the same chunk as the header", async () => {
    const body = randomBytes(1000);
    const port = await rawServer((socket) =>
      socket.end(Buffer.concat([Buffer.from(encodeLine({ status: "ok", size: body.length, sha256: sha256(body) })), body])),
    );
    const to = tempPath("d");
    await fetchFromPeer({ host: HOST, port, path: "/f", to });
    expect((await readFile(to)).equals(body)).toBe(true);
  });

  it("reports a peer that closes before sending everything as truncated", async () => {
    const port = await rawServer((socket) => {
      socket.write(encodeLine({ status: "ok", size: 1000, sha256: "a".repeat(64) }));
      socket.end(Buffer.alloc(10));
    });
    const error = await fetchError(fetchFromPeer({ host: HOST, port, path: "/f", to: tempPath("d") }));
    expect(error.code).toBe("truncated");
    expect(error.message).toBe("the peer closed the connection after 10 of 1000 bytes");
  });

  it("reports a peer that stops sending as stalled", async () => {
    const port = await rawServer((socket) => {
      socket.write(encodeLine({ status: "ok", size: 1000, sha256: "a".repeat(64) }));
      socket.write(Buffer.alloc(10));
    });
    const error = await fetchError(fetchFromPeer({ host: HOST, port, path: "/f", to: tempPath("d"), idleTimeoutMs: 100 }));
    expect(error.code).toBe("stalled");
  });

  it("reports a malformed header as bad-reply", async () => {
    const port = await rawServer((socket) => socket.end("HTTP/1.1 400 Bad Request\r\n\r\n"));
    const error = await fetchError(fetchFromPeer({ host: HOST, port, path: "/f", to: tempPath("d") }));
    expect(error.code).toBe("bad-reply");
  });

  it("reports a refused connection as unreachable", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, HOST, () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const error = await fetchError(fetchFromPeer({ host: HOST, port: closedPort, path: "/f", to: tempPath("d"), owner: "Pesho" }));
    expect(error.code).toBe("unreachable");
    expect(error.message).toBe(`cannot reach Pesho's mini-server at ${HOST}:${closedPort}: ECONNREFUSED`);
  });

  it("stops when aborted", async () => {
    const port = await rawServer((socket) => socket.write(encodeLine({ status: "ok", size: 1000, sha256: "a".repeat(64) })));
    const controller = new AbortController();
    const download = fetchFromPeer({ host: HOST, port, path: "/f", to: tempPath("d"), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect((await fetchError(download)).code).toBe("aborted");
  });
});
