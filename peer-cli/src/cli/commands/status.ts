import type { CommandEnv } from "../env.ts";
import { printStatus } from "../output.ts";
import { viewCommand } from "./view-command.ts";

export default (env: CommandEnv) =>
  viewCommand(env, {
    name: "status",
    description: "Show this peer's name, tracker connection, mini-server port and how many files it offers",
    fetch: (transport) => transport({ cmd: "status" }),
    print: printStatus,
  });
