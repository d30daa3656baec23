import { basename } from "node:path";
import { defineCommand } from "citty";
import type { DownloadOutcome } from "../../control/protocol.ts";
import { commandContext, homeArg, jsonArg, type CommandData } from "../context.ts";
import { printDownloaded, printJson } from "../output.ts";
import { progressBar } from "../progress-bar.ts";

export default defineCommand({
  meta: {
    name: "download",
    description: "Download a file straight from another user's peer (no tracker involved), then offer it under your name",
  },
  args: {
    user: { type: "positional", description: "The user who offers the file", required: true },
    path: { type: "positional", description: "The file's absolute path on that user's machine", required: true },
    save: { type: "positional", description: "Where to save it here", required: true },
    force: { type: "boolean", description: "Overwrite an existing file" },
    "single-source": { type: "boolean", description: "Fetch from the named user only, not from every holder of the same content" },
    ...homeArg,
    ...jsonArg,
  },
  async run({ args, data }) {
    const ctx = commandContext(data as CommandData, args.home);
    const bar = args.json ? progressBar({ isTTY: false } as NodeJS.WriteStream, "", ctx.output) : progressBar(process.stderr, basename(args.path), ctx.output);
    try {
      const outcome = (await ctx.transport(
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
          else if (!args.json) bar.note(`dropped source ${event.user}: ${event.reason}`);
        },
      )) as DownloadOutcome;
      bar.done();
      if (args.json) printJson(ctx.output, outcome);
      else printDownloaded(ctx.output, outcome);
    } catch (error) {
      bar.done();
      throw error;
    }
  },
});
