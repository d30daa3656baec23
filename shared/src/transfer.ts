/**
 * The mini-server protocol, peer to peer over TCP.
 *
 *   client → server: one JSON line (TransferRequest), at most MAX_TRANSFER_HEADER_BYTES
 *   server → client: one JSON line (TransferHeader), then, when status is "ok",
 *                    exactly `size` raw bytes, then the server closes.
 */
import { checkPath, expectObject, ProtocolFailure } from "./validate.ts";

export const TRANSFER_PROTOCOL_VERSION = 1;

/** Bound on either side's header line, newline included. */
export const MAX_TRANSFER_HEADER_BYTES = 8 * 1024;

export interface TransferRequest {
  v: typeof TRANSFER_PROTOCOL_VERSION;
  op: "get";
  /** The absolute path exactly as its user registered it. */
  path: string;
}

export const TRANSFER_STATUSES = [
  "ok",
  /** Not registered by this peer's user right now (or never was). */
  "not-found",
  /** Registered, but changed, replaced or removed on disk since. */
  "changed",
  /** The request line was not a valid TransferRequest. */
  "bad-request",
  /** The mini-server is at its connection or transfer limit. */
  "busy",
  /** Reading the file failed on the serving side. */
  "error",
] as const;

export type TransferStatus = (typeof TRANSFER_STATUSES)[number];

export type TransferHeader =
  | { status: "ok"; size: number; sha256: string }
  | { status: Exclude<TransferStatus, "ok">; message: string };

export function encodeLine(value: object): string {
  return `${JSON.stringify(value)}\n`;
}

function parseJsonLine(line: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ProtocolFailure("bad-json", `${what} is not JSON`);
  }
  return expectObject(value, what);
}

export function parseTransferRequest(line: string): TransferRequest {
  const obj = parseJsonLine(line, "the request");
  if (obj.v !== TRANSFER_PROTOCOL_VERSION) {
    throw new ProtocolFailure("bad-message", `unsupported protocol version ${JSON.stringify(obj.v)}; this peer speaks ${TRANSFER_PROTOCOL_VERSION}`);
  }
  if (obj.op !== "get") throw new ProtocolFailure("unknown-type", `unknown operation ${JSON.stringify(obj.op)}`);
  return { v: TRANSFER_PROTOCOL_VERSION, op: "get", path: checkPath(obj.path) };
}

const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function parseTransferHeader(line: string): TransferHeader {
  const obj = parseJsonLine(line, "the peer's reply");
  const status = obj.status;
  if (status === "ok") {
    const { size, sha256 } = obj;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new ProtocolFailure("bad-message", "the peer's reply has an invalid size");
    }
    if (typeof sha256 !== "string" || !SHA256_PATTERN.test(sha256)) {
      throw new ProtocolFailure("bad-message", "the peer's reply has an invalid sha256");
    }
    return { status, size, sha256 };
  }
  if (typeof status === "string" && (TRANSFER_STATUSES as readonly string[]).includes(status)) {
    const message = typeof obj.message === "string" ? obj.message.slice(0, 1000) : status;
    return { status: status as Exclude<TransferStatus, "ok">, message };
  }
  throw new ProtocolFailure("bad-message", "the peer's reply has an unknown status");
}
