/**
 * list-files: every offered file, or those matching the filters, as
 * `<user> : <path>` lines. The tracker does the filtering and sends pages.
 */
import { checkDigest, checkQuery, checkUserName } from "@p2p/shared";
import { defineCommand } from "citty";
import { commandContext, homeArg, jsonArg, usage, type CommandEnv } from "../env.ts";
import { printFiles, printJson } from "../output.ts";

/** A filter value checked here, so a typo is a usage error (exit 2) rather than a refusal from the tracker. */
function checked<T>(value: string | undefined, check: (value: string) => T, what: string): T | undefined {
  if (value === undefined) return undefined;
  try {
    return check(value);
  } catch (error) {
    throw usage(`${what}: ${(error as Error).message}`);
  }
}

export default (env: CommandEnv) =>
  defineCommand({
    meta: { name: "list-files", description: "List offered files as `<user> : <path>` lines, all or those matching the filters (asks the tracker)" },
    args: {
      user: { type: "string", description: "Only this user's files", valueHint: "name" },
      match: { type: "string", description: "Only paths containing this text (ignoring case)", valueHint: "text" },
      root: { type: "string", description: "Only files with this content root (64 hex digits; for a file of one piece, up to 256 KiB, its SHA-256)", valueHint: "hex" },
      sha256: { type: "string", description: "The same as --root, which equals the file's SHA-256 only for files up to 256 KiB", valueHint: "hex" },
      ...homeArg,
      ...jsonArg,
    },
    async run({ args }) {
      const ctx = commandContext(env, args.home);
      if (args.root !== undefined && args.sha256 !== undefined && args.root.toLowerCase() !== args.sha256.toLowerCase()) {
        throw usage("--root and --sha256 name the same filter; give one");
      }
      const root = checked((args.root ?? args.sha256)?.toLowerCase(), checkDigest, "--root");
      const user = checked(args.user, checkUserName, "--user");
      const match = checked(args.match, checkQuery, "--match");
      const filtered = user !== undefined || match !== undefined || root !== undefined;
      const { files } = await ctx.transport({
        cmd: "list-files",
        ...(user !== undefined ? { user } : {}),
        ...(match !== undefined ? { match } : {}),
        ...(root !== undefined ? { root } : {}),
      });
      if (args.json) printJson(ctx.output, files);
      else printFiles(ctx.output, files);
      if (files.length === 0 && filtered && !args.json) ctx.output.err("no offered file matches");
    },
  });
