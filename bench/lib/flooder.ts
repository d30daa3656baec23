/**
 * A hostile WebSocket client in its own process, so its loop never steals
 * time from the load generator it runs beside:
 *
 *   node bench/lib/flooder.ts <ws-url> <seconds> [--rate N] [--ignore-close] [--message M]
 *
 * Sends one message (default: a tiny malformed one) over and over for at most
 * `seconds`: as fast as the socket takes it, or N a second with --rate. It
 * stops when the server closes the socket, unless --ignore-close. Frames are
 * written straight to a TCP socket (ready-made buffers of masked frames), so a
 * full-speed flood is limited by the network path, not by a WebSocket
 * library. Prints one JSON line when done.
 */
import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { parseArgs } from "node:util";

export interface FloodReport {
  /** Messages written to the socket. */
  sent: number;
  /** Text frames the server answered with. */
  replies: number;
  /** ms after the first message when the first `rate-limited` reply came; null if never. */
  rateLimitedAfterMs: number | null;
  /** ms after the first message when the server's close frame came; null if never. */
  closedAfterMs: number | null;
  closeCode: number | null;
  seconds: number;
}

export interface FloodOptions {
  seconds: number;
  /** Messages a second; full speed when absent. */
  rate?: number;
  /** Keep sending after the server's close frame, as a client that does not care would. */
  ignoreClose?: boolean;
  message?: string;
}

const FRAMES_PER_WRITE = 512;
/** A paced flood writes every this many ms. */
const PACE_MS = 5;

/** One masked client text frame (payloads under 64 KiB). */
function maskedFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  if (payload.length >= 65536) throw new Error("the flood message must be under 64 KiB");
  const header = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const mask = randomBytes(4);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i]! ^ mask[i % 4]!;
  return Buffer.concat([header, mask, body]);
}

export function flood(url: string, { seconds, rate, ignoreClose = false, message = "{" }: FloodOptions): Promise<FloodReport> {
  const { hostname, port, pathname } = new URL(url);
  const frame = maskedFrame(message);
  const burst = Buffer.concat(Array.from({ length: FRAMES_PER_WRITE }, () => frame));
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const report: FloodReport = { sent: 0, replies: 0, rateLimitedAfterMs: null, closedAfterMs: null, closeCode: null, seconds: 0 };
    let started = 0;
    let upgraded = false;
    let pending = Buffer.alloc(0);
    let done = false;

    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      report.seconds = started ? (performance.now() - started) / 1000 : 0;
      socket.destroy();
      resolve(report);
    };
    const timer = setTimeout(finish, seconds * 1000 + 30_000);

    let closedByServer = false;
    const over = () => done || (closedByServer && !ignoreClose) || performance.now() - started >= seconds * 1000;
    const goodbye = () => {
      if (done) return;
      // The flood is over: say goodbye properly and wait for the close.
      socket.write(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
      setTimeout(finish, 2000);
    };
    const pump = () => {
      while (!over()) {
        report.sent += FRAMES_PER_WRITE;
        if (!socket.write(burst)) {
          socket.once("drain", pump);
          return;
        }
      }
      goodbye();
    };
    const pace = () => {
      const due = Math.floor(((performance.now() - started) / 1000) * rate!);
      const batch = Math.min(due - report.sent, 10_000);
      if (batch > 0) {
        report.sent += batch;
        socket.write(batch === FRAMES_PER_WRITE ? burst : Buffer.concat(Array.from({ length: batch }, () => frame)));
      }
      if (over()) goodbye();
      else setTimeout(pace, PACE_MS);
    };

    /** Server frames are unmasked; only the opcode and the first bytes matter here. */
    const readFrames = () => {
      for (;;) {
        if (pending.length < 2) return;
        let length = pending[1]! & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (pending.length < 4) return;
          length = pending.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (pending.length < 10) return;
          length = Number(pending.readBigUInt64BE(2));
          offset = 10;
        }
        if (pending.length < offset + length) return;
        const opcode = pending[0]! & 0x0f;
        const payload = pending.subarray(offset, offset + length);
        pending = pending.subarray(offset + length);
        if (opcode === 0x1) {
          report.replies++;
          if (report.rateLimitedAfterMs === null && payload.includes("rate-limited")) report.rateLimitedAfterMs = performance.now() - started;
        } else if (opcode === 0x8 && !closedByServer) {
          closedByServer = true;
          report.closedAfterMs = performance.now() - started;
          report.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : null;
          if (!ignoreClose) {
            finish();
            return;
          }
        }
      }
    };

    socket.on("connect", () => {
      const key = randomBytes(16).toString("base64");
      socket.write(`GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    socket.on("data", (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!upgraded) {
        const end = pending.indexOf("\r\n\r\n");
        if (end === -1) return;
        const status = pending.subarray(0, end).toString().split("\r\n")[0] ?? "";
        if (!status.includes(" 101 ")) {
          reject(new Error(`the server refused the upgrade: ${status}`));
          socket.destroy();
          return;
        }
        upgraded = true;
        pending = pending.subarray(end + 4);
        started = performance.now();
        if (rate === undefined) pump();
        else pace();
      }
      readFrames();
    });
    socket.on("error", () => finish());
    socket.on("close", finish);
  });
}

if (import.meta.filename === process.argv[1]) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { rate: { type: "string" }, "ignore-close": { type: "boolean", default: false }, message: { type: "string", default: "{" } },
  });
  const [url, seconds] = positionals;
  if (!url || !seconds) throw new Error("usage: node bench/lib/flooder.ts <ws-url> <seconds> [--rate N] [--ignore-close] [--message M]");
  const options: FloodOptions = { seconds: Number(seconds), ignoreClose: values["ignore-close"], message: values.message };
  if (values.rate !== undefined) options.rate = Number(values.rate);
  process.stdout.write(`${JSON.stringify(await flood(url, options))}\n`);
}
