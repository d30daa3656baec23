/**
 * Who gets a mini-server connection: a cap per client address, and, when the
 * server is full, connections that make no progress give way to newcomers,
 * while downloads that keep data flowing are never cut.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { encodeLine, parseTransferHeader, probeLine, readProbeAnswer, type TransferStatus, TRANSFER_PROTOCOL_VERSION } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { SourceConnection } from "../src/download/source-connection.ts";
import { PeerError } from "../src/errors.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { addressKey } from "../src/mini-server/admission.ts";
import { eventually, peerError, useSocketFixture } from "./helpers.ts";

const HOST = "127.0.0.1";
const MiB = 1024 * 1024;

const fixture = useSocketFixture("p2p-admission-");
const { cleanups, serve, offer } = fixture;

type Answer = TransferStatus | "closed";

/**
 * A raw client on a chosen loopback address that asks for `length` bytes at a
 * time and otherwise holds its connection: the trickle that used to keep a
 * mini-server busy forever.
 */
class Trickler {
  readonly #socket: net.Socket;
  #received: Buffer = Buffer.alloc(0);
  #closed = false;
  #waiting: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
      this.#waiting?.();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#closed = true;
      this.#waiting?.();
    });
  }

  /** With `keepOpen`, it does not close its end when the server closes the other. */
  static async open(port: number, localAddress: string, keepOpen = false): Promise<Trickler> {
    const socket = net.connect({ host: HOST, port, localAddress, allowHalfOpen: keepOpen });
    cleanups.push(() => void socket.destroy());
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new Trickler(socket);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Asks for `length` bytes at 0 and reads the whole answer. */
  async ask(path: string, length = 1): Promise<Answer> {
    if (this.#closed) return "closed";
    this.#socket.write(encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 0, length }));
    for (;;) {
      const newline = this.#received.indexOf(0x0a);
      if (newline !== -1) {
        const header = parseTransferHeader(this.#received.subarray(0, newline).toString("utf8"));
        const bodyBytes = header.status === "ok" ? length : 0;
        if (this.#received.length >= newline + 1 + bodyBytes) {
          this.#received = this.#received.subarray(newline + 1 + bodyBytes);
          return header.status;
        }
      }
      if (this.#closed) return "closed";
      await new Promise<void>((resolve) => (this.#waiting = resolve));
    }
  }

  destroy(): void {
    this.#socket.destroy();
  }
}

/** `count` tricklers from `localAddress`, each having asked for one byte; how each was answered. */
async function trickle(port: number, localAddress: string, path: string, count: number): Promise<{ tricklers: Trickler[]; answers: Answer[] }> {
  const tricklers = await Promise.all(Array.from({ length: count }, () => Trickler.open(port, localAddress)));
  const answers = await Promise.all(tricklers.map((t) => t.ask(path)));
  return { tricklers, answers };
}

const count = (answers: Answer[], status: Answer): number => answers.filter((a) => a === status).length;

/** What a downloader does (from 127.0.0.1): the piece map, then every piece pipelined on one connection. */
async function download(port: number, path: string): Promise<Buffer> {
  const connection = await SourceConnection.open({ host: HOST, port });
  try {
    const map = await connection.pieceMap(path);
    const pieces = map.hashes.map((_, i) => {
      const offset = i * map.pieceSize;
      return connection.range(path, offset, Math.min(map.pieceSize, map.size - offset), map);
    });
    return Buffer.concat(await Promise.all(pieces));
  } finally {
    connection.close();
  }
}

/** Tries `download` until the server lets it in rather than answering busy. */
async function downloadOnceLetIn(port: number, path: string): Promise<Buffer> {
  let got: Buffer | undefined;
  await eventually(async () => {
    got = await download(port, path).catch((error: unknown) => {
      if (error instanceof PeerError && error.code === "busy") return undefined;
      throw error;
    });
    return got !== undefined;
  }, "the download got a slot");
  if (got === undefined) throw new Error("unreachable: eventually returned without a download");
  return got;
}

describe("a cap per client address", () => {
  it("lets a download through while 64 connections from one address trickle one byte each", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(MiB + 5);
    const path = await offer(files, "wanted.bin", data);
    const server = await serve(files);

    const { answers } = await trickle(server.port, "127.0.0.2", path, 64);

    // The address gets its share of the 64 slots; the rest of its connections are turned away.
    expect(count(answers, "ok")).toBe(8);
    expect(count(answers, "busy")).toBe(56);
    expect((await download(server.port, path)).equals(data)).toBe(true);
  });

  it("turns away an address beyond its share, with a message that says so, and still serves others", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "file.bin", randomBytes(1000));
    // Long graces: nothing here is old enough to give way.
    const server = await serve(files, { maxConnectionsPerAddress: 3, idleGraceMs: 60_000 });

    const { answers } = await trickle(server.port, "127.0.0.2", path, 3);
    expect(answers).toEqual(["ok", "ok", "ok"]);

    const extra = net.connect({ host: HOST, port: server.port, localAddress: "127.0.0.2" });
    cleanups.push(() => void extra.destroy());
    const connection = await SourceConnection.open({ host: HOST, port: server.port });
    cleanups.push(() => connection.close());
    // SourceConnection cannot pick its address; a raw socket from 127.0.0.2 stands in for it.
    const refused = await new Promise<string>((resolve) => {
      let reply = "";
      extra.on("connect", () => extra.write(encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "pieces", path })));
      extra.on("data", (chunk: Buffer) => {
        reply += chunk.toString("latin1");
        if (reply.includes("\n")) resolve(reply.slice(0, reply.indexOf("\n")));
      });
      extra.on("error", () => {});
      extra.on("close", () => resolve(reply));
    });
    expect(parseTransferHeader(refused)).toEqual({
      status: "busy",
      message: "the peer is serving 3 connections from your address; try again later",
    });

    expect((await connection.pieceMap(path)).size).toBe(1000);
    const { answers: others } = await trickle(server.port, "127.0.0.3", path, 3);
    expect(others).toEqual(["ok", "ok", "ok"]);
  });

  it("frees the slot of a connection that got its final answer, even if the client never closes it", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "file.bin", randomBytes(1000));
    const server = await serve(files, { maxConnections: 1, idleGraceMs: 60_000 });

    // Asks for something not offered, reads the refusal, and keeps its end open.
    const lingering = await Trickler.open(server.port, "127.0.0.2", true);
    expect(await lingering.ask("/not/offered")).toBe("not-found");

    expect((await downloadOnceLetIn(server.port, path)).length).toBe(1000);
    expect(lingering.closed).toBe(false);
  });
});

describe("the tracker's probes", () => {
  it("take a slot like any connection but give it back once answered, so they never lock out a download", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "file.bin", randomBytes(1000));
    const server = await serve(files, { maxConnections: 1, idleGraceMs: 60_000 });

    // A probe whose client reads the answer and then keeps its end open.
    const socket = net.connect({ host: HOST, port: server.port, allowHalfOpen: true });
    cleanups.push(() => void socket.destroy());
    const nonce = randomBytes(16).toString("hex");
    socket.write(probeLine(nonce));
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (chunk) => {
        text += chunk;
        if (text.includes("\n")) resolve(text.trimEnd());
      });
    });
    expect(readProbeAnswer(answer, nonce)).toBe("answered");

    expect((await downloadOnceLetIn(server.port, path)).length).toBe(1000);
  });
});

describe("what counts as one client address", () => {
  it("is an IPv4 address, also when it arrives IPv4-mapped", () => {
    expect(addressKey("203.0.113.5")).toBe("203.0.113.5");
    expect(addressKey("::ffff:203.0.113.5")).toBe("203.0.113.5");
    expect(addressKey("203.0.113.6")).not.toBe(addressKey("203.0.113.5"));
  });

  it("is an IPv6 /64, however the address is written", () => {
    const one = addressKey("2001:db8:1:2::1");
    expect(one).toBe("2001:db8:1:2::/64");
    expect(addressKey("2001:0db8:0001:0002:ffff:ffff:ffff:ffff")).toBe(one);
    expect(addressKey("2001:DB8:1:2:0:0:0:7")).toBe(one);
    expect(addressKey("2001:db8:1:3::1")).not.toBe(one);
    expect(addressKey("::1")).toBe("0:0:0:0::/64");
    expect(addressKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(addressKey("64:ff9b::192.0.2.1")).toBe("64:ff9b:0:0::/64");
  });
});

describe("when the server is full", () => {
  it("closes a connection idle between requests to let a download in", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(MiB);
    const path = await offer(files, "wanted.bin", data);
    // No grace: a connection with no request outstanding may give way at once.
    const server = await serve(files, { idleGraceMs: 0 });

    // Eight addresses with eight connections each fill all 64 slots.
    const all: Trickler[] = [];
    for (let host = 2; host <= 9; host++) {
      const { tricklers, answers } = await trickle(server.port, `127.0.0.${host}`, path, 8);
      expect(answers.every((a) => a === "ok")).toBe(true);
      all.push(...tricklers);
    }

    expect((await download(server.port, path)).equals(data)).toBe(true);
    // One gave way (the piece map's connection took its slot); the others are still there.
    await eventually(() => all.filter((t) => t.closed).length === 1, "one trickler was closed");
  });

  it("closes a connection that asks for a trickle of bytes, however often it asks", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(MiB);
    const path = await offer(files, "wanted.bin", data);
    const server = await serve(files, { maxConnections: 4, idleGraceMs: 60_000, progressWindowMs: 300 });

    const { tricklers } = await trickle(server.port, "127.0.0.2", path, 4);
    let stop = false;
    cleanups.push(() => void (stop = true));
    // Never idle for long, never behind on reading: just no real demand.
    const loops = tricklers.map(async (t) => {
      while (!stop && (await t.ask(path)) === "ok") await new Promise((resolve) => setTimeout(resolve, 5));
    });

    expect((await downloadOnceLetIn(server.port, path)).equals(data)).toBe(true);
    stop = true;
    await Promise.all(loops);
    expect(tricklers.filter((t) => t.closed).length).toBeGreaterThanOrEqual(1);
  });

  it("closes a connection that stopped reading its answer", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(16 * MiB);
    const path = await offer(files, "big.bin", data);
    const server = await serve(files, { maxConnections: 1, stallGraceMs: 200 });

    // Asks for 16 MiB and never reads: the kernel's buffers fill and the answer stops moving.
    const stalled = net.connect({ host: HOST, port: server.port, localAddress: "127.0.0.2" }, () =>
      stalled.write(encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 0, length: 16 * MiB })),
    );
    stalled.pause();
    stalled.on("error", () => {});
    cleanups.push(() => void stalled.destroy());
    const stalledClosed = new Promise((resolve) => stalled.once("close", resolve));
    await eventually(() => server.activeTransfers() === 1, "the stalled range is being answered");

    expect((await downloadOnceLetIn(server.port, path)).equals(data)).toBe(true);
    // Reading again, it finds its connection was closed before its 16 MiB were all sent.
    let received = 0;
    stalled.on("data", (chunk: Buffer) => (received += chunk.length));
    stalled.resume();
    await stalledClosed;
    expect(received).toBeLessThan(16 * MiB);
  });

  it("never closes a slow reader whose answer keeps moving", async () => {
    const files = new OfferedFiles();
    const data = randomBytes(16 * MiB);
    const path = await offer(files, "big.bin", data);
    const server = await serve(files, { maxConnections: 1, idleGraceMs: 60_000, stallGraceMs: 2000, progressWindowMs: 4000 });

    // Reads one chunk, then waits a little, all the way through 16 MiB.
    const slow = net.connect({ host: HOST, port: server.port, localAddress: "127.0.0.2" }, () =>
      slow.write(encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset: 0, length: 16 * MiB })),
    );
    slow.on("error", () => {});
    cleanups.push(() => void slow.destroy());
    const chunks: Buffer[] = [];
    const finished = new Promise<void>((resolve, reject) => {
      let received = 0;
      slow.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received > 16 * MiB) resolve();
        slow.pause();
        setTimeout(() => slow.resume(), 2);
      });
      slow.on("close", () => reject(new Error(`the slow reader was closed after ${received} bytes`)));
    });

    // Newcomers keep knocking all the while; each is told the peer is busy.
    let refusals = 0;
    let reading = true;
    const knocking = (async () => {
      while (reading) {
        const connection = await SourceConnection.open({ host: HOST, port: server.port });
        const error = await peerError(connection.pieceMap(path));
        expect(error.code).toBe("busy");
        refusals++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    await finished;
    reading = false;
    await knocking;
    const body = Buffer.concat(chunks);
    expect(body.subarray(body.indexOf(0x0a) + 1).equals(data)).toBe(true);
    expect(refusals).toBeGreaterThan(0);
  });
});
