/** Errors a user sees, each with a code for scripts and an exit status for shells. */
import { ERROR_CODES, TRANSFER_STATUSES, type ErrorCode, type TransferStatus } from "@p2p/shared";

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

const EXIT_CODES: readonly number[] = Object.values(EXIT);

export function isExitCode(value: unknown): value is ExitCode {
  return typeof value === "number" && EXIT_CODES.includes(value);
}

/** Codes the peer itself raises, beside the tracker's and the mini-server's. */
export const PEER_ERROR_CODES = [
  // the peer process and its home
  "usage",
  "already-running",
  "unsafe-home",
  "port-unavailable",
  "no-peer",
  "control-failed",
  "peer-gone",
  "bad-reply",
  // files offered
  "missing",
  "not-a-file",
  "unreadable",
  "bad-files",
  "not-offered",
  // the tracker connection
  "bad-tracker-url",
  "tracker-unreachable",
  "tracker-timeout",
  "token-required",
  "token-refused",
  "sync-failed",
  // downloads
  "aborted",
  "exists",
  "locked",
  "no-space",
  "unwritable",
  "no-source",
  "corrupt",
  "unreachable",
  "stalled",
  "truncated",
  // the router (start --port-map)
  "port-map-failed",
] as const;

/**
 * Every code a PeerError can carry: the peer's own, the tracker's refusals
 * (passed on as they are) and a mini-server's transfer statuses.
 */
export type PeerErrorCode = (typeof PEER_ERROR_CODES)[number] | ErrorCode | Exclude<TransferStatus, "ok">;

const ALL_CODES: ReadonlySet<string> = new Set<string>([...PEER_ERROR_CODES, ...ERROR_CODES, ...TRANSFER_STATUSES]);

export function isPeerErrorCode(value: unknown): value is PeerErrorCode {
  return typeof value === "string" && value !== "ok" && ALL_CODES.has(value);
}

export class PeerError extends Error {
  readonly code: PeerErrorCode;
  readonly exitCode: ExitCode;
  constructor(code: PeerErrorCode, message: string, exitCode: ExitCode = EXIT.failed) {
    super(message);
    this.name = "PeerError";
    this.code = code;
    this.exitCode = exitCode;
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
