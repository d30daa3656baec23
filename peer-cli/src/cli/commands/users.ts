import type { CommandEnv } from "../env.ts";
import { printUsers } from "../output.ts";
import { viewCommand } from "./view-command.ts";

export default (env: CommandEnv) =>
  viewCommand(env, {
    name: "users",
    description: "Show the local user map (`user – host:port`), as last refreshed from the tracker",
    fetch: (transport) => transport({ cmd: "users" }),
    print: printUsers,
  });
