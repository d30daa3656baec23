import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, type CommandData } from "../context.ts";
import { printFiles, printJson } from "../output.ts";

export default defineCommand({
  meta: { name: "list-files", description: "List every file offered, as `<user> : <path>` lines (asks the tracker)" },
  args: { ...homeArg, ...jsonArg },
  async run({ args, data }) {
    const ctx = commandContext(data as CommandData, args.home);
    const { files } = await ctx.transport({ cmd: "list-files" });
    if (args.json) printJson(ctx.output, files);
    else printFiles(ctx.output, files);
  },
});
