import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, type CommandEnv } from "../env.ts";
import { printJson, printUsers } from "../output.ts";

export default (env: CommandEnv) =>
  defineCommand({
    meta: { name: "users", description: "Show the local user map (`user – host:port`), as last refreshed from the tracker" },
    args: { ...homeArg, ...jsonArg },
    async run({ args }) {
      const ctx = commandContext(env, args.home);
      const outcome = await ctx.transport({ cmd: "users" });
      if (args.json) printJson(ctx.output, outcome);
      else printUsers(ctx.output, outcome);
    },
  });
