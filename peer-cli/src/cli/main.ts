/** `p2p-peer`: the root command and its exit-code discipline. */
import { defineCommand, runCommand, runMain, showUsage } from "citty";
import { EXIT } from "../errors.ts";
import { shapeOf } from "./command-shape.ts";
import start from "./commands/start.ts";
import { shellEnv } from "./env.ts";
import { isOneShot, oneShotCommands } from "./one-shot-commands.ts";
import { checkOptions } from "./options.ts";
import { exitCodeOf, reportError } from "./report-error.ts";

const VERSION = "0.1.0";

const shellCommands = oneShotCommands(shellEnv);

export const main = defineCommand({
  meta: {
    name: "p2p-peer",
    version: VERSION,
    description: `Peer-to-peer file exchange. Start a peer, then run commands against it.

Exit codes: 0 ok · 1 refused or failed · 2 usage · 3 no peer running · 4 tracker unreachable · 5 download failed`,
  },
  subCommands: { start, ...shellCommands },
});

function subCommand(name: string | undefined): { meta?: unknown; args?: unknown } | undefined {
  if (name === "start") return start;
  return name !== undefined && isOneShot(shellCommands, name) ? shellCommands[name] : undefined;
}

export async function runCli(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (argv.length === 0) {
    await showUsage(main);
    process.exit(EXIT.usage);
  }
  const options = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  if (options.includes("--help") || options.includes("-h") || (argv.length === 1 && (name === "--version" || name === "-v"))) {
    // citty finds the subcommand and prints its usage (or the version).
    await runMain(main, { rawArgs: argv });
    return;
  }
  const command = subCommand(name);
  try {
    const shape = command && shapeOf(command);
    if (shape) checkOptions(shape, rest);
    await runCommand(main, { rawArgs: argv });
  } catch (error) {
    reportError(shellEnv.output, error);
    if (exitCodeOf(error) === EXIT.usage) process.stderr.write(`see: p2p-peer ${command ? `${name} ` : ""}--help\n`);
    process.exitCode = exitCodeOf(error);
  }
}
