/** Errors a user sees, each with a code for scripts and an exit status for shells. */

export const EXIT = {
  ok: 0,
  /** The request was refused or failed (bad file, unknown user, refused by the tracker…). */
  failed: 1,
  /** Wrong arguments. */
  usage: 2,
  /** No peer is running for this home. */
  noPeer: 3,
  /** The tracker could not be reached. */
  trackerUnreachable: 4,
  /** A download did not complete; nothing was left under the final name. */
  downloadFailed: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class PeerError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  constructor(code: string, message: string, exitCode: ExitCode = EXIT.failed) {
    super(message);
    this.name = "PeerError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
