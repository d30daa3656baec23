import type { CommandEnv } from "../env.ts";
import { printFiles } from "../output.ts";
import { viewCommand } from "./view-command.ts";

export default (env: CommandEnv) =>
  viewCommand(env, {
    name: "list-files",
    description: "List every file offered, as `<user> : <path>` lines (asks the tracker)",
    fetch: (transport) => transport({ cmd: "list-files" }),
    print: (output, { files }) => printFiles(output, files),
    json: ({ files }) => files,
  });
