import type { CommandEnv } from "../env.ts";
import { printUnregistered } from "../output.ts";
import { fileListCommand } from "./file-list-command.ts";

export default (env: CommandEnv) =>
  fileListCommand(env, {
    name: "unregister",
    send: (transport, user, paths) => transport({ cmd: "unregister", user, paths }),
    description: "Stop offering files (every one must be offered by this peer; otherwise nothing changes)",
    filesDescription: "Files to stop offering",
    print: printUnregistered,
  });
