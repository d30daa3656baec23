/** Commands that only show something from the running peer: `--home`, `--json`, one request, one print. */
import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, type CommandEnv } from "../env.ts";
import { printJson, type Output } from "../output.ts";
import type { Transport } from "../transport.ts";

export interface ViewCommandSpec<O> {
  name: string;
  description: string;
  fetch: (transport: Transport) => Promise<O>;
  print: (output: Output, outcome: O) => void;
  /** What `--json` prints, if not the whole outcome. */
  json?: (outcome: O) => unknown;
}

export function viewCommand<O>(env: CommandEnv, spec: ViewCommandSpec<O>) {
  return defineCommand({
    meta: { name: spec.name, description: spec.description },
    args: { ...homeArg, ...jsonArg },
    async run({ args }) {
      const ctx = commandContext(env, args.home);
      const outcome = await spec.fetch(ctx.transport);
      if (args.json) printJson(ctx.output, spec.json ? spec.json(outcome) : outcome);
      else spec.print(ctx.output, outcome);
    },
  });
}
