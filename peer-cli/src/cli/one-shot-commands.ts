/** Commands that act on a running peer, from the shell or from its prompt, bound to where they run. */
import download from "./commands/download.ts";
import listFiles from "./commands/list-files.ts";
import register from "./commands/register.ts";
import status from "./commands/status.ts";
import unregister from "./commands/unregister.ts";
import users from "./commands/users.ts";
import type { CommandEnv } from "./env.ts";

export function oneShotCommands(env: CommandEnv) {
  return {
    register: register(env),
    unregister: unregister(env),
    "list-files": listFiles(env),
    download: download(env),
    users: users(env),
    status: status(env),
  };
}

export type OneShotCommands = ReturnType<typeof oneShotCommands>;

export function isOneShot(commands: OneShotCommands, name: string): name is keyof OneShotCommands {
  return Object.hasOwn(commands, name);
}
