import type { CommandDef } from "citty";
import download from "./commands/download.ts";
import listFiles from "./commands/list-files.ts";
import register from "./commands/register.ts";
import status from "./commands/status.ts";
import unregister from "./commands/unregister.ts";
import users from "./commands/users.ts";

/** Commands that act on a running peer, from the shell or from its prompt. */
export const oneShotCommands: Record<"register" | "unregister" | "list-files" | "download" | "users" | "status", CommandDef<any>> = {
  register,
  unregister,
  "list-files": listFiles,
  download,
  users,
  status,
};
