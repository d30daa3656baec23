import type { CommandEnv } from "../env.ts";
import { printRegistered } from "../output.ts";
import { fileListCommand } from "./file-list-command.ts";

export default (env: CommandEnv) =>
  fileListCommand(env, {
    name: "register",
    send: (transport, user, paths) => transport({ cmd: "register", user, paths }),
    description: "Offer files under your user name (the first register names this peer)",
    filesDescription: "Files to offer",
    print: printRegistered,
  });
