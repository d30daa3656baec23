import { printable } from "@p2p/shared";
import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, type CommandEnv } from "../env.ts";
import { printJson } from "../output.ts";

export default (env: CommandEnv) =>
  defineCommand({
    meta: { name: "status", description: "Show this peer's name, tracker connection, mini-server port and how many files it offers" },
    args: { ...homeArg, ...jsonArg },
    async run({ args }) {
      const ctx = commandContext(env, args.home);
      const status = await ctx.transport({ cmd: "status" });
      if (args.json) return printJson(ctx.output, status);
      ctx.output.out(`user:        ${status.user ?? "(none yet: the first register names this peer)"}`);
      ctx.output.out(`tracker:     ${printable(status.tracker)} (${status.trackerConnected ? "connected" : "unreachable, retrying"})`);
      ctx.output.out(`mini-server: port ${status.miniServerPort}`);
      ctx.output.out(`offering:    ${status.offered} files`);
      ctx.output.out(`home:        ${printable(status.home)}`);
    },
  });
