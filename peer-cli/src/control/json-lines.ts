/** Newline-delimited JSON over a stream socket, with a bound on each line. */
import type { Socket } from "node:net";
import { MAX_CATALOG_BYTES } from "@p2p/shared";

/** The longest line is list-files' outcome: the whole catalog, and room for the envelope around it. */
export const MAX_CONTROL_LINE_BYTES = MAX_CATALOG_BYTES + 64 * 1024;

/**
 * Calls `onLine` for every complete line. A line over the bound ends the
 * stream with `onOverflow` rather than buffering without limit.
 */
export function readLines(socket: Socket, onLine: (line: string) => void, onOverflow: () => void): void {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  socket.on("data", (chunk: Buffer) => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      pending.push(chunk.subarray(start, nl));
      const line = Buffer.concat(pending).toString("utf8");
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
      onLine(line);
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
      if (pendingBytes > MAX_CONTROL_LINE_BYTES) {
        pending = [];
        onOverflow();
      }
    }
  });
}

export function writeLine(socket: Socket, value: unknown): void {
  if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
}
