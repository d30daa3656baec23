/**
 * register and unregister: `<user> <file1, file2, …>`. Commas and spaces
 * both separate files; after `--` each argument is one path exactly as given,
 * so names with commas, spaces or a leading dash work too.
 */
import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, usage, type CommandEnv } from "../env.ts";
import { printJson, type Output } from "../output.ts";
import type { Transport } from "../transport.ts";

export interface FileListCommandSpec<O> {
  name: "register" | "unregister";
  description: string;
  filesDescription: string;
  send: (transport: Transport, user: string, paths: string[]) => Promise<O>;
  print: (output: Output, outcome: O) => void;
}

export function fileListCommand<O>(env: CommandEnv, spec: FileListCommandSpec<O>) {
  return defineCommand({
    meta: { name: spec.name, description: spec.description },
    args: {
      user: { type: "positional", description: "Your user name: 1–64 of A–Z a–z 0–9 . _ -", required: true },
      files: { type: "positional", description: `${spec.filesDescription}, separated by commas or spaces; after -- one path per argument, as is`, required: false },
      ...homeArg,
      ...jsonArg,
    },
    async run({ args, rawArgs }) {
      const ctx = commandContext(env, args.home);
      const { user, files } = splitUserAndFiles(args._, rawArgs);
      if (files.length === 0) throw usage(`name at least one file: ${spec.name} <user> <file1, file2, …>`);
      const outcome = await spec.send(ctx.transport, user, files.map(ctx.absolute));
      if (args.json) printJson(ctx.output, outcome);
      else spec.print(ctx.output, outcome);
    },
  });
}

/**
 * The user and the files from the positionals: citty puts everything after
 * `--` at the end of `_`, so the raw arguments tell which words were verbatim.
 */
export function splitUserAndFiles(positionals: readonly string[], rawArgs: readonly string[]): { user: string; files: string[] } {
  const dashes = rawArgs.indexOf("--");
  const verbatim = dashes === -1 ? [] : rawArgs.slice(dashes + 1);
  const before = positionals.slice(0, positionals.length - verbatim.length);
  const [user, ...listed] = before.length > 0 ? before : verbatim.slice(0, 1);
  const rest = before.length > 0 ? verbatim : verbatim.slice(1);
  if (user === undefined) throw usage("name the user first: <user> <file1, file2, …>");
  return { user, files: [...splitFileList(listed), ...rest.filter((path) => path.length > 0)] };
}

/** `a.txt, b.txt c.txt` → three paths: commas and spaces both separate. */
export function splitFileList(words: readonly string[]): string[] {
  return words.flatMap((word) => word.split(",")).map((w) => w.trim()).filter((w) => w.length > 0);
}
