/**
 * A rate limit for the mini-server's uploads. Only tests and benchmarks set
 * it (P2P_TEST_THROTTLE_BPS), to make transfers slow enough to interrupt.
 */
import { Transform } from "node:stream";

const SLICE = 16 * 1024;

export function throttle(bytesPerSecond: number): Transform {
  const started = performance.now();
  let sent = 0;
  return new Transform({
    async transform(chunk: Buffer, _encoding, callback) {
      for (let offset = 0; offset < chunk.length; offset += SLICE) {
        const slice = chunk.subarray(offset, offset + SLICE);
        sent += slice.length;
        const due = started + (sent / bytesPerSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        this.push(slice);
      }
      callback();
    },
  });
}
