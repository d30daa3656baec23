import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, splitFileList, usage, type CommandData } from "../context.ts";
import { printJson, printUnregistered } from "../output.ts";

export default defineCommand({
  meta: { name: "unregister", description: "Stop offering files" },
  args: {
    user: { type: "positional", description: "Your user name", required: true },
    files: { type: "positional", description: "Files to stop offering, separated by commas or spaces", required: false },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args, data }) {
    const ctx = commandContext(data as CommandData, args.home);
    const files = splitFileList(args._.slice(1));
    if (files.length === 0) throw usage("name at least one file: unregister <user> <file1, file2, …>");
    const outcome = await ctx.transport({ cmd: "unregister", user: args.user, paths: files.map(ctx.absolute) });
    if (args.json) printJson(ctx.output, outcome);
    else printUnregistered(ctx.output, outcome);
  },
});
