import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, type CommandEnv } from "../env.ts";
import { printFiles, printJson } from "../output.ts";

export default (env: CommandEnv) =>
  defineCommand({
    meta: { name: "list-files", description: "List every file offered, as `<user> : <path>` lines (asks the tracker)" },
    args: { ...homeArg, ...jsonArg },
    async run({ args }) {
      const ctx = commandContext(env, args.home);
      const { files } = await ctx.transport({ cmd: "list-files" });
      if (args.json) printJson(ctx.output, files);
      else printFiles(ctx.output, files);
    },
  });
