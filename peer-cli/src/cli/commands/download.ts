import { basename } from "node:path";
import { printable, printableProse } from "@p2p/shared";
import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, type CommandEnv } from "../env.ts";
import { printDownloaded, printJson } from "../output.ts";
import { progressBar, silentProgress } from "../progress-bar.ts";

export default (env: CommandEnv) =>
  defineCommand({
    meta: {
      name: "download",
      description: "Download a file straight from another user's peer (no tracker involved), then offer it under your name",
    },
    args: {
      user: { type: "positional", description: "The user who offers the file", required: true },
      path: { type: "positional", description: "The file's absolute path on that user's machine", required: true },
      save: { type: "positional", description: "Where to save it here", required: true },
      force: { type: "boolean", description: "Overwrite an existing regular file" },
      "single-source": { type: "boolean", description: "Fetch from the named user only, not from every holder of the same content" },
      ...homeArg,
      ...jsonArg,
    },
    async run({ args }) {
      const ctx = commandContext(env, args.home);
      const bar = args.json ? silentProgress(ctx.output) : progressBar(process.stderr, printable(basename(args.path)), ctx.output);
      try {
        const outcome = await ctx.transport(
          {
            cmd: "download",
            user: args.user,
            path: args.path,
            save: ctx.absolute(args.save),
            force: args.force === true,
            singleSource: args["single-source"] === true,
          },
          (event) => {
            if (event.event === "progress") bar.update(event.received, event.total, event.sources);
            else if (!args.json) bar.note(`dropped source ${printable(event.user)}: ${printableProse(event.reason)}`);
          },
        );
        bar.done();
        if (args.json) printJson(ctx.output, outcome);
        else printDownloaded(ctx.output, outcome);
      } catch (error) {
        bar.done();
        throw error;
      }
    },
  });
