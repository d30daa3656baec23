/** `p2p-peer`: the root command and its exit-code discipline. */
import { defineCommand, runCommand, showUsage } from "citty";
import { EXIT } from "../errors.ts";
import start from "./commands/start.ts";
import { oneShotCommands } from "./one-shot-commands.ts";
import { exitCodeOf, reportError } from "./report-error.ts";

export const main = defineCommand({
  meta: {
    name: "p2p-peer",
    version: "0.1.0",
    description: `Peer-to-peer file exchange. Start a peer, then run commands against it.

Exit codes: 0 ok · 1 refused or failed · 2 usage · 3 no peer running · 4 tracker unreachable · 5 download failed`,
  },
  subCommands: { start, ...oneShotCommands },
});

export async function runCli(argv: string[]): Promise<void> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    const sub = argv.find((a) => !a.startsWith("-"));
    const command = sub && sub in main.subCommands! ? (main.subCommands as Record<string, never>)[sub] : undefined;
    await showUsage(command ?? main, command ? main : undefined);
    process.exit(argv.length === 0 ? EXIT.usage : EXIT.ok);
  }
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write("0.1.0\n");
    return;
  }
  try {
    await runCommand(main, { rawArgs: argv });
  } catch (error) {
    reportError(error);
    if (exitCodeOf(error) === EXIT.usage) {
      const known = argv[0] !== undefined && argv[0] in main.subCommands!;
      process.stderr.write(`see: p2p-peer ${known ? `${argv[0]} ` : ""}--help\n`);
    }
    process.exitCode = exitCodeOf(error);
  }
}
