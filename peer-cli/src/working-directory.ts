/**
 * The working directory. Past PATH_MAX the system call fails (ERANGE), so
 * the shell's $PWD stands in when it is absolute; undefined when neither can be had.
 */
import { isAbsolute } from "node:path";

export function workingDirectory(): string | undefined {
  try {
    return process.cwd();
  } catch {
    const pwd = process.env.PWD;
    return pwd !== undefined && isAbsolute(pwd) ? pwd : undefined;
  }
}
