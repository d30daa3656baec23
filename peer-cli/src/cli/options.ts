/**
 * Refuses what a command would otherwise silently ignore: an option it does
 * not have (a file named `-x.txt` would vanish into an unknown flag; the
 * error says to put `--` before such names) and more words than it takes (an
 * unquoted space in a save path would lose its second half).
 */
import type { CommandShape } from "./command-shape.ts";
import { usage } from "./env.ts";

/** Handled before any command runs (and shown as help), so never unknown. */
const HELP = new Set(["help", "h"]);

export function checkOptions(command: CommandShape, argv: readonly string[]): void {
  const known = new Map<string, boolean>();
  for (const arg of command.args) {
    if (arg.type === "positional") continue;
    const takesValue = arg.type !== "boolean";
    for (const name of [arg.name, ...arg.aliases]) known.set(name, takesValue);
    if (!takesValue) known.set(`no-${arg.name}`, false);
  }
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") {
      words.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith("-") || word === "-") {
      words.push(word);
      continue;
    }
    const [name = "", inline] = word.replace(/^--?/, "").split(/=(.*)/s, 2);
    if (HELP.has(name)) continue;
    const takesValue = known.get(name);
    if (takesValue === undefined) {
      throw usage(`${command.name} has no option ${JSON.stringify(word)}; to name a file that starts with "-", put "--" before it (${command.name} … -- ${word})`);
    }
    if (takesValue && inline === undefined) i++;
  }
  const positionals = command.args.filter((arg) => arg.type === "positional");
  // An optional last positional (register's files) takes every word that is left.
  const open = positionals.at(-1)?.required === false;
  if (!open && words.length > positionals.length) {
    const extra = words.slice(positionals.length).map((w) => JSON.stringify(w)).join(" ");
    const takes = positionals.length === 0 ? "takes no arguments" : `takes ${positionals.map((p) => `<${p.name}>`).join(" ")}`;
    throw usage(`${command.name} ${takes}; ${extra} is left over (quote a path that has spaces)`);
  }
}
