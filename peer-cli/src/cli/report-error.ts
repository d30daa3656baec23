/** Turns any failure into a message and an exit code that mean something. */
import { EXIT, PeerError, errorMessage, type ExitCode } from "../errors.ts";
import { printError, type Output } from "./output.ts";

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof PeerError) return error.exitCode;
  if (error instanceof Error && error.name === "CLIError") return EXIT.usage;
  return EXIT.failed;
}

export function reportError(output: Output, error: unknown): ExitCode {
  printError(output, errorMessage(error));
  return exitCodeOf(error);
}
