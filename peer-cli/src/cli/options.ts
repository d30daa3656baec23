/**
 * Refuses options a command does not have. Otherwise a file named `-x.txt`
 * would silently vanish into an unknown flag; the error says to put `--`
 * before such names.
 */
import type { CommandShape } from "./command-shape.ts";
import { usage } from "./env.ts";

const GLOBAL = new Set(["help", "h", "version", "v"]);

export function checkOptions(command: CommandShape, argv: readonly string[]): void {
  const known = new Map<string, boolean>();
  for (const arg of command.args) {
    if (arg.type === "positional") continue;
    const takesValue = arg.type !== "boolean";
    for (const name of [arg.name, ...arg.aliases]) known.set(name, takesValue);
    if (!takesValue) known.set(`no-${arg.name}`, false);
  }
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") return;
    if (!word.startsWith("-") || word === "-") continue;
    const [name = "", inline] = word.replace(/^--?/, "").split(/=(.*)/s, 2);
    if (GLOBAL.has(name)) continue;
    const takesValue = known.get(name);
    if (takesValue === undefined) {
      throw usage(`${command.name} has no option ${JSON.stringify(word)}; to name a file that starts with "-", put "--" before it (${command.name} … -- ${word})`);
    }
    if (takesValue && inline === undefined) i++;
  }
}
