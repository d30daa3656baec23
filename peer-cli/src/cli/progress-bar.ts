/** A one-line download progress bar for terminals; silent anywhere else. */
import { formatBytes } from "../format-bytes.ts";
import type { Output } from "./output.ts";

export interface Progress {
  update(received: number, total: number, sources: number): void;
  /** A line of its own above the bar (the bar redraws below it). */
  note(line: string): void;
  done(): void;
}

const WIDTH = 28;

/** No bar: notes go to stderr as plain lines (when piped, or with --json). */
export function silentProgress(output: Output): Progress {
  return { update() {}, note: (line) => output.err(line), done() {} };
}

export function progressBar(stream: NodeJS.WriteStream, label: string, output: Output): Progress {
  if (!stream.isTTY) return silentProgress(output);
  const tty = stream;
  const started = performance.now();
  let drawn = false;
  return {
    update(received, total, sources) {
      const fraction = total === 0 ? 1 : received / total;
      const filled = Math.round(fraction * WIDTH);
      const seconds = (performance.now() - started) / 1000;
      const rate = seconds > 0 ? received / seconds : 0;
      const eta = rate > 0 ? (total - received) / rate : 0;
      const line = `${label} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(received)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${Math.ceil(eta)}s ${sources} source${sources === 1 ? "" : "s"}`;
      tty.clearLine(0);
      tty.cursorTo(0);
      tty.write(line.slice(0, Math.max(20, (tty.columns ?? 80) - 1)));
      drawn = true;
    },
    note(line) {
      if (drawn) {
        tty.clearLine(0);
        tty.cursorTo(0);
      }
      tty.write(`${line}\n`);
      drawn = false;
    },
    done() {
      if (drawn) tty.write("\n");
    },
  };
}
