/** The interactive prompt of `p2p-peer start` on a terminal: the same commands, run in-process. */
import { createInterface } from "node:readline/promises";
import { runCommand } from "citty";
import type { Peer } from "../peer/peer.ts";
import { consoleOutput, printUsers } from "./output.ts";
import { inProcessTransport } from "./transport.ts";
import { reportError } from "./report-error.ts";
import { oneShotCommands } from "./one-shot-commands.ts";

const HELP = `commands:
  register <user> <file1, file2, …>     offer files (the first register names this peer)
  unregister <user> <file1, …>          stop offering files
  list-files                            every file offered: <user> : <path>
  download <user> <path on user> <save> [--force]
  users                                 the local user map
  status                                this peer's name, tracker connection and port
  help                                  this text
  exit                                  stop the peer`;

export async function runPrompt(peer: Peer, stop: () => Promise<void>): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "p2p> " });
  consoleOutput.out('type "help" for commands');
  rl.prompt();
  for await (const line of rl) {
    const words = splitWords(line);
    const [name, ...rest] = words;
    if (name === undefined) {
      // Empty line: just prompt again.
    } else if (name === "exit" || name === "quit") {
      rl.close();
      break;
    } else if (name === "help") {
      consoleOutput.out(HELP);
    } else if (name === "users" && rest.length === 0) {
      printUsers(consoleOutput, peer.users());
    } else if (name in oneShotCommands) {
      try {
        const command = oneShotCommands[name as keyof typeof oneShotCommands];
        await runCommand(command, { rawArgs: rest, data: { transport: inProcessTransport(peer) } });
      } catch (error) {
        reportError(error);
      }
    } else {
      consoleOutput.err(`unknown command "${name}"; type "help"`);
    }
    rl.prompt();
  }
  await stop();
}

/** Splits on spaces, keeping "quoted words" and 'quoted words' together. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}
