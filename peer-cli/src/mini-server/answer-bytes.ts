/**
 * The mini-server's answers that carry a registered file's bytes: `get` (the
 * whole file, then the connection ends) and `range` (some bytes, then the
 * next request). Only the registered number of bytes is ever sent, from a
 * handle checked to be the registered file.
 */
import type { FileHandle } from "node:fs/promises";
import type { RangeHeader, TransferHeader } from "@p2p/shared";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import type { ClientSocket } from "./client-socket.ts";
import { openOffered } from "./open-offered.ts";

export interface BodyOptions {
  /**
   * Caps each answer's rate; for tests and benchmarks only (P2P_TEST_THROTTLE_BPS),
   * to make transfers slow enough to interrupt.
   */
  bytesPerSecond?: number;
  /** Flips the first byte of every range body; for tests and benchmarks only. */
  corruptRanges?: boolean;
}

/** Bytes read from disk and written to the socket at a time. */
const CHUNK_BYTES = 256 * 1024;
const THROTTLED_CHUNK_BYTES = 16 * 1024;

/** The handle of the registered file, or undefined after answering why not. */
async function open(client: ClientSocket, offered: OfferedFile): Promise<FileHandle | undefined> {
  const opened = await openOffered(offered);
  if ("handle" in opened) return opened.handle;
  client.reply(opened.refusal);
  return undefined;
}

/** `get`: the whole file, then the connection ends. */
export async function answerGet(client: ClientSocket, offered: OfferedFile, options: BodyOptions): Promise<void> {
  const { path, size } = offered;
  const handle = await open(client, offered);
  if (handle === undefined) return;
  try {
    if (client.gone) return;
    const header: TransferHeader = { status: "ok", size, root: offered.root };
    if (size === 0) {
      client.reply(header);
      return;
    }
    client.header(header);
    await sendBytes(client, handle, 0, size, { ...options, corruptRanges: false });
    client.end();
    client.log(`sent ${path} (${size} bytes) to ${client.remote}`);
  } catch (error) {
    client.log(`sending ${path} to ${client.remote} stopped: ${errnoCode(error)}`);
    client.destroy();
  } finally {
    await handle.close().catch(() => {});
  }
}

/** `range`: `length` bytes from `offset`; true when the connection may go on. */
export async function answerRange(
  client: ClientSocket,
  offered: OfferedFile,
  offset: number,
  length: number,
  options: BodyOptions,
): Promise<boolean> {
  const { path, size } = offered;
  if (offset + length > size) {
    client.reply({
      status: "bad-request",
      message: `the range of ${length} bytes at ${offset} passes the end of ${path}, which has ${size} bytes`,
    });
    return false;
  }
  try {
    const handle = await open(client, offered);
    if (handle === undefined) return false;
    try {
      if (client.gone) return false;
      const header: RangeHeader = { status: "ok", size, root: offered.root, offset, length };
      client.header(header);
      await sendBytes(client, handle, offset, length, options);
      return true;
    } finally {
      await handle.close().catch(() => {});
    }
  } catch (error) {
    client.log(`sending ${length} bytes at ${offset} of ${path} to ${client.remote} stopped: ${errnoCode(error)}`);
    client.destroy();
    return false;
  }
}

/**
 * Exactly `length` bytes of the handle from `offset`, with backpressure, so a
 * file that grew since registration still sends only the registered bytes.
 */
async function sendBytes(client: ClientSocket, handle: FileHandle, offset: number, length: number, options: BodyOptions): Promise<void> {
  const { bytesPerSecond } = options;
  const chunkBytes = bytesPerSecond ? THROTTLED_CHUNK_BYTES : CHUNK_BYTES;
  const started = performance.now();
  const end = offset + length;
  let position = offset;
  // Two buffers per connection, taking turns: one is read into while the socket
  // still holds the other, and neither is reused before the socket let it go.
  const [first, second] = client.chunkBuffers(chunkBytes);
  for (let turn = 0; position < end; turn++) {
    const slot = turn % 2 === 0 ? first : second;
    await slot.released;
    const chunk = slot.buffer.subarray(0, Math.min(chunkBytes, end - position));
    let filled = 0;
    while (filled < chunk.length) {
      const { bytesRead } = await handle.read(chunk, filled, chunk.length - filled, position + filled);
      if (bytesRead === 0) throw new Error("the file shrank while it was being sent");
      filled += bytesRead;
    }
    if (position === offset && options.corruptRanges) chunk.writeUInt8(chunk.readUInt8(0) ^ 0xff, 0);
    position += chunk.length;
    if (bytesPerSecond) {
      const wait = started + ((position - offset) / bytesPerSecond) * 1000 - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    const sent = client.send(chunk);
    slot.released = sent.released;
    await sent.drained;
  }
}
