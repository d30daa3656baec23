/**
 * What a command runs against. From the shell: the control socket of the
 * home it names, the console, the process's working directory. From the
 * peer's own prompt: the peer itself, in-process.
 */
import { isAbsolute, resolve } from "node:path";
import { EXIT, PeerError } from "../errors.ts";
import { resolveHome } from "../peer/home.ts";
import { workingDirectory } from "../working-directory.ts";
import { consoleOutput, type Output } from "./output.ts";
import { socketTransport, type Transport } from "./transport.ts";

export interface CommandEnv {
  /** Set by the prompt; otherwise the control socket of the command's --home. */
  transport?: Transport;
  output: Output;
  /** Base for relative paths; undefined when the working directory cannot be read. */
  cwd: () => string | undefined;
}

export const shellEnv: CommandEnv = { output: consoleOutput, cwd: workingDirectory };

export const homeArg = {
  home: { type: "string", description: "The peer's home folder (default: $P2P_PEER_HOME or ~/.p2p-peer)", valueHint: "dir" },
} as const;

export const jsonArg = { json: { type: "boolean", description: "Print JSON for scripts" } } as const;

/** The transport, output and path resolution one command run uses. */
export function commandContext(env: CommandEnv, home: string | undefined) {
  const cwd = env.cwd();
  return {
    transport: env.transport ?? socketTransport(resolveHome(home, cwd)),
    output: env.output,
    absolute: (path: string) => {
      if (isAbsolute(path)) return resolve(path);
      if (cwd === undefined) {
        throw usage(`cannot tell where ${path} is: the working directory cannot be read (longer than the system allows?); give an absolute path`);
      }
      return resolve(cwd, path);
    },
  };
}

export function usage(message: string): PeerError {
  return new PeerError("usage", message, EXIT.usage);
}
