import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, splitFileList, usage, type CommandData } from "../context.ts";
import { printJson, printRegistered } from "../output.ts";

export default defineCommand({
  meta: { name: "register", description: "Offer files under your user name (the first register names this peer)" },
  args: {
    user: { type: "positional", description: "Your user name: 1–64 of A–Z a–z 0–9 . _ -", required: true },
    files: { type: "positional", description: "Files to offer, separated by commas or spaces", required: false },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args, data }) {
    const ctx = commandContext(data as CommandData, args.home);
    const files = splitFileList(args._.slice(1));
    if (files.length === 0) throw usage("name at least one file: register <user> <file1, file2, …>");
    const outcome = await ctx.transport({ cmd: "register", user: args.user, paths: files.map(ctx.absolute) });
    if (args.json) printJson(ctx.output, outcome);
    else printRegistered(ctx.output, outcome);
  },
});
