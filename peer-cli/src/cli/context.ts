/** What a command runs against; the prompt passes its own, the shell gets the defaults. */
import { resolve } from "node:path";
import { EXIT, PeerError } from "../errors.ts";
import { resolveHome } from "../peer/home.ts";
import { consoleOutput, type Output } from "./output.ts";
import { socketTransport, type Transport } from "./transport.ts";

export interface CommandData {
  transport?: Transport;
  output?: Output;
  /** Base for relative paths: the caller's working directory. */
  cwd?: string;
}

export const homeArg = {
  home: { type: "string", description: "The peer's home folder (default: $P2P_PEER_HOME or ~/.p2p-peer)", valueHint: "dir" },
} as const;

export const jsonArg = { json: { type: "boolean", description: "Print JSON for scripts" } } as const;

export function commandContext(data: CommandData | undefined, home: string | undefined) {
  return {
    transport: data?.transport ?? socketTransport(resolveHome(home)),
    output: data?.output ?? consoleOutput,
    absolute: (path: string) => resolve(data?.cwd ?? process.cwd(), path),
  };
}

/** `a.txt, b.txt c.txt` → three paths: commas and spaces both separate. */
export function splitFileList(words: readonly string[]): string[] {
  return words.flatMap((word) => word.split(",")).map((w) => w.trim()).filter((w) => w.length > 0);
}

export function usage(message: string): PeerError {
  return new PeerError("usage", message, EXIT.usage);
}
