/** The interactive prompt of `p2p-peer start` on a terminal: the same commands, run in-process. */
import { createInterface } from "node:readline/promises";
import { defineCommand, runCommand } from "citty";
import type { Peer } from "../peer/peer.ts";
import { shapeOf, type CommandShape } from "./command-shape.ts";
import { workingDirectory } from "../working-directory.ts";
import type { CommandEnv } from "./env.ts";
import { isOneShot, oneShotCommands } from "./one-shot-commands.ts";
import { checkOptions } from "./options.ts";
import { consoleOutput } from "./output.ts";
import { reportError } from "./report-error.ts";
import { inProcessTransport } from "./transport.ts";

export async function runPrompt(peer: Peer, stop: () => Promise<void>): Promise<void> {
  const env: CommandEnv = { transport: inProcessTransport(peer), output: consoleOutput, cwd: workingDirectory };
  const commands = oneShotCommands(env);
  const dispatcher = defineCommand({ meta: { name: "p2p>" }, subCommands: commands });
  const help = promptHelp(Object.values(commands).flatMap((command) => shapeOf(command) ?? []));
  const rl = createInterface({ input: process.stdin, output: process.stdout, prompt: "p2p> " });
  consoleOutput.out('type "help" for commands');
  rl.prompt();
  for await (const line of rl) {
    const [name, ...rest] = splitWords(line);
    if (name === undefined) {
      // Empty line: just prompt again.
    } else if (name === "exit" || name === "quit") {
      rl.close();
      break;
    } else if (name === "help") {
      consoleOutput.out(help);
    } else if (isOneShot(commands, name)) {
      const shape = shapeOf(commands[name]);
      const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
      try {
        if (shape && (options.includes("--help") || options.includes("-h"))) consoleOutput.out(promptHelp([shape], false));
        else {
          if (shape) checkOptions(shape, rest);
          await runCommand(dispatcher, { rawArgs: [name, ...rest] });
        }
      } catch (error) {
        reportError(consoleOutput, error);
      }
    } else {
      consoleOutput.err(`unknown command "${name}"; type "help"`);
    }
    rl.prompt();
  }
  await stop();
}

/** The prompt's help, from the same definitions as `--help`, so the two never disagree. */
export function promptHelp(commands: readonly CommandShape[], withPromptCommands = true): string {
  const rows = commands.map((command) => {
    const words = [command.name];
    for (const arg of command.args) {
      if (arg.name === "home") continue; // the prompt runs against its own peer
      if (arg.type === "positional") words.push(arg.required ? `<${arg.name}>` : `[${arg.name}…]`);
      else words.push(arg.type === "boolean" ? `[--${arg.name}]` : `[--${arg.name} <${arg.valueHint ?? "value"}>]`);
    }
    return { usage: words.join(" "), description: command.description };
  });
  if (withPromptCommands) rows.push({ usage: "help", description: "This text" }, { usage: "exit", description: "Stop the peer" });
  const width = Math.min(40, Math.max(...rows.map((r) => r.usage.length)));
  const lines = rows.map((r) => (r.usage.length > width ? `  ${r.usage}\n  ${" ".repeat(width)}  ${r.description}` : `  ${r.usage.padEnd(width)}  ${r.description}`));
  return withPromptCommands ? ["commands (each also takes --help):", ...lines].join("\n") : lines.join("\n");
}

/** Splits on spaces, keeping "quoted words" and 'quoted words' together. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const match of line.matchAll(pattern)) words.push(match[1] ?? match[2] ?? match[3] ?? "");
  return words;
}
