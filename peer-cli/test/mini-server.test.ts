import { createHash, randomBytes, type Hash } from "node:crypto";
import { mkdir, rename, symlink, unlink, writeFile, appendFile } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import {
  encodeLine,
  MAX_TRANSFER_HEADER_BYTES,
  parseTransferHeader,
  probeLine,
  readProbeAnswer,
  type TransferHeader,
  TRANSFER_PROTOCOL_VERSION,
} from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { startMiniServer } from "../src/mini-server/server.ts";
import { SourceConnection } from "../src/download/source-connection.ts";
import { eventually, openHandlesOn, peerError, sha256, useSocketFixture, rootOf } from "./helpers.ts";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;

const fixture = useSocketFixture("p2p-mini-server-");
const { cleanups, tempPath, serve, offer } = fixture;




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

const getLine = (path: string): Buffer => Buffer.from(encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "get", path }));

interface GetReply {
  header: TransferHeader;
  /** Body bytes received after the header, until the server closed. */
  received: number;
  sha256: string;
  /** The body itself, unless `keepBody` was false. */
  body: Buffer;
}

/**
 * A bare `get` client: sends the request line, reads the header line, then
 * counts and hashes everything that follows until the server closes.
 */
function rawGet(port: number, path: string, keepBody = true, localAddress = HOST): Promise<GetReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, localAddress }, () => socket.write(getLine(path)));
    let head: Buffer = Buffer.alloc(0);
    let header: TransferHeader | undefined;
    const hash: Hash = createHash("sha256");
    const chunks: Buffer[] = [];
    let received = 0;
    const takeBody = (chunk: Buffer): void => {
      received += chunk.length;
      hash.update(chunk);
      if (keepBody) chunks.push(chunk);
    };
    socket.on("data", (chunk: Buffer) => {
      if (header !== undefined) {
        takeBody(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(0x0a);
      if (newline === -1) return;
      try {
        header = parseTransferHeader(head.subarray(0, newline).toString("utf8"));
      } catch (error) {
        socket.destroy();
        reject(error);
        return;
      }
      takeBody(head.subarray(newline + 1));
    });
    socket.on("error", reject);
    socket.on("close", () => {
      if (header === undefined) reject(new Error(`the server closed without a header (${head.length} bytes)`));
      else resolve({ header, received, sha256: hash.digest("hex"), body: Buffer.concat(chunks) });
    });
  });
}

/** Checks a `get` reply is ok and carries exactly `data`, then nothing more. */
function expectFile(reply: GetReply, data: Buffer): void {
  expect(reply.header).toEqual({ status: "ok", size: data.length, root: rootOf(data) });
  expect(reply.received).toBe(data.length);
  expect(reply.sha256).toBe(sha256(data));
}



describe("serving registered files", () => {
  it("serves a file of a few MiB byte for byte, then closes", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(3 * MiB + 17);
    const path = await offer(files, "big.bin", data);
    const server = await serve(files);

    const reply = await rawGet(server.port, path);

    expectFile(reply, data);
    expect(reply.body.equals(data)).toBe(true);
    await eventually(() => server.activeTransfers() === 0, "the transfer finished");
  });

  it("serves an empty file", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "empty", Buffer.alloc(0));
    const server = await serve(files);

    const reply = await rawGet(server.port, path);

    expectFile(reply, Buffer.alloc(0));
  });

  it("answers not-found, with no bytes, for a path that is not registered", async () => {
    const files = new OfferedFiles();
    await offer(files, "shared.txt", Buffer.from("hello"));
    const server = await serve(files);
    const secret = tempPath("secret.txt");
    await writeFile(secret, "not offered");

    const header = onlyHeader(await rawExchange(server.port, getLine(secret)));

    expect(header).toEqual({ status: "not-found", message: `${secret} is not offered by this peer` });
  });

  it("does not resolve '..' in a requested path", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "registered.txt", Buffer.from("hello"));
    await mkdir(join(fixture.dir, "x"), { recursive: true });
    const sneaky = join(fixture.dir, "x") + "/../" + path.slice(fixture.dir.length + 1);

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

    expect(onlyHeader(await rawExchange(server.port, getLine(path))).status).toBe("changed");
  });

  it("serves 20 parallel downloads of one file correctly", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(2 * MiB);
    const path = await offer(files, "popular.bin", data);
    const server = await serve(files);

    // Twenty downloaders on twenty addresses: one address alone gets only its share of connections.
    const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => rawGet(server.port, path, false, `127.0.0.${i + 1}`)));

    for (const reply of replies) expectFile(reply, data);
    await eventually(() => server.activeTransfers() === 0, "all transfers finished");
  });

  it("survives a client that disconnects mid-transfer, without disturbing another download", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(64 * MiB);
    const path = await offer(files, "huge.bin", data);
    const logs: string[] = [];
    const server = await serve(files, { log: (line) => logs.push(line) });
    // Before any transfer; also fails here, and plainly, where descriptors cannot be counted.
    expect(openHandlesOn(path)).toBe(0);

    // A client that reads a little and then vanishes.
    let openWhileSending = 0;
    const quitter = new Promise<number>((resolve, reject) => {
      let received = 0;
      const socket = net.connect({ host: HOST, port: server.port }, () => socket.write(getLine(path)));
      socket.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received >= MiB && !socket.destroyed) {
          // Its transfer cannot be over yet: the server still has the file open.
          openWhileSending = openHandlesOn(path);
          socket.destroy();
        }
      });
      socket.on("error", reject);
      socket.on("close", () => resolve(received));
    });
    const patient = rawGet(server.port, path, false);

    expect(await quitter).toBeLessThan(data.length);
    expectFile(await patient, data);

    await eventually(() => server.activeTransfers() === 0, "the abandoned transfer was cleaned up");
    expect(logs.filter((line) => line.includes("stopped"))).toHaveLength(1);
    // The count sees the server's handles, so its falling to 0 means they were closed.
    expect(openWhileSending).toBeGreaterThan(0);
    await eventually(() => openHandlesOn(path) === 0, "the server closed its file handles");

    const small = await offer(files, "after.txt", Buffer.from("still working"));
    expectFile(await rawGet(server.port, small), Buffer.from("still working"));
  });
});

describe("clients that stop reading", () => {
  it("are cut off after the idle timeout without holding up anyone else or keeping the file open", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(64 * MiB);
    const path = await offer(files, "stalled.bin", data);
    const server = await serve(files, { idleTimeoutMs: 500 });
    // Before any transfer; also fails here, and plainly, where descriptors cannot be counted.
    expect(openHandlesOn(path)).toBe(0);

    // Requests a big file, takes one chunk, then never reads again.
    let openWhileStalled = 0;
    const stalled = net.connect({ host: HOST, port: server.port }, () => stalled.write(getLine(path)));
    stalled.once("data", () => {
      stalled.pause();
      openWhileStalled = openHandlesOn(path);
    });
    stalled.on("error", () => {});
    cleanups.push(async () => void stalled.destroy());

    expectFile(await rawGet(server.port, path, false), data);
    await eventually(() => server.activeTransfers() === 0, "the stalled transfer was dropped");
    // The count saw the stalled transfer's handle, so its falling to 0 means it was closed.
    expect(openWhileStalled).toBeGreaterThan(0);
    await eventually(() => openHandlesOn(path) === 0, "the server closed its file handle");
  });
});

describe("the tracker's reachability probe", () => {
  it("is answered with its nonce, and only that, before the server closes", async () => {
    const server = await serve(new OfferedFiles());
    const nonce = randomBytes(16).toString("hex");
    const reply = await rawExchange(server.port, probeLine(nonce));
    expect(reply.toString("utf8")).toBe(`${JSON.stringify({ status: "ok", probe: nonce })}\n`);
    expect(readProbeAnswer(reply.toString("utf8").trimEnd(), nonce)).toBe("answered");
  });

  it("refuses a probe whose nonce is malformed", async () => {
    const server = await serve(new OfferedFiles());
    const header = onlyHeader(await rawExchange(server.port, encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "probe", nonce: "../etc" })));
    expect(header.status).toBe("bad-request");
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
    const header = onlyHeader(await rawExchange(server.port, encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "put", path: "/x" })));
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
    // A long grace: the two silent connections never give way to a newcomer here.
    const server = await serve(files, { maxConnections: 2, idleGraceMs: 60_000 });

    const openSilent = async (): Promise<net.Socket> => {
      const socket = net.connect({ host: HOST, port: server.port });
      socket.on("error", () => {});
      cleanups.push(() => void socket.destroy());
      await new Promise((resolve) => socket.once("connect", resolve));
      return socket;
    };
    const first = await openSilent();
    await openSilent();

    expect(onlyHeader(await rawExchange(server.port, getLine(path))).status).toBe("busy");
    // A downloader's connection is refused the same way.
    const connection = await SourceConnection.open({ host: HOST, port: server.port });
    const error = await peerError(connection.pieceMap(path));
    expect(error.code).toBe("busy");
    expect(error.message).toBe("the peer is serving 2 connections; try again later");

    first.destroy();
    let reply = "";
    await eventually(async () => {
      reply = (await rawExchange(server.port, getLine(path))).toString();
      return !reply.includes('"busy"');
    }, "a slot is free again");
    expect(reply.endsWith("\ncontent")).toBe(true);
  });

  it("close() stops listening and drops open connections", async () => {
    const server = await startMiniServer({ files: new OfferedFiles(), host: HOST, port: 0 });
    const socket = net.connect({ host: HOST, port: server.port });
    socket.on("error", () => {});
    await new Promise((resolve) => socket.once("connect", resolve));
    const closed = new Promise((resolve) => socket.once("close", resolve));

    await server.close();
    await closed;
    const error = await peerError(SourceConnection.open({ host: HOST, port: server.port }));
    expect(error.code).toBe("unreachable");
  });
});
