/**
 * The mini-server protocol, peer to peer over TCP.
 *
 *   client → server: one JSON line (TransferRequest), at most MAX_TRANSFER_HEADER_BYTES
 *   server → client: one JSON line (a header), then, when status is "ok", a body:
 *     get:    `size` raw bytes (the whole file); then the server closes.
 *     pieces: `count` × 32 bytes, the raw SHA-256 of each piece (PieceMapHeader).
 *     range:  `length` raw bytes from `offset` (RangeHeader).
 *   Every ok header names the file served by `size` and `root`, its content
 *   root: the root of a SHA-256 tree whose leaves are the piece hashes, each
 *   inner node SHA-256(0x01 ‖ left ‖ right), leaves padded with zero hashes to
 *   a power of two; a file of one piece has its SHA-256 as root, an empty
 *   file the SHA-256 of nothing. A piece map proves itself against the root
 *   the tracker lists, and each piece against its hash in the map.
 *   After pieces and range the connection stays open for the next request, so
 *   a client may pipeline several. Any non-ok header ends the connection.
 *
 *   probe: the tracker's reachability check. The answer is one line,
 *   `{"status":"ok","probe":<the same nonce>}`, and the server closes. The
 *   random nonce shows the tracker it reached a mini-server that speaks this
 *   protocol, not some other service listening on that port.
 */
import { parseJsonObject } from "./json.ts";
import { sanitizeProse } from "./printable.ts";
import { checkPath, ProtocolFailure, type JsonObject } from "./validate.ts";

/** 2: headers name files by content root (1: by whole-file SHA-256). */
export const TRANSFER_PROTOCOL_VERSION = 2;

/** Bound on either side's header line, newline included. */
export const MAX_TRANSFER_HEADER_BYTES = 8 * 1024;

export type TransferRequest =
  | {
      v: typeof TRANSFER_PROTOCOL_VERSION;
      op: "get" | "pieces";
      /** The absolute path exactly as its user registered it. */
      path: string;
    }
  | {
      v: typeof TRANSFER_PROTOCOL_VERSION;
      op: "range";
      path: string;
      offset: number;
      /** 1 to MAX_RANGE_BYTES; offset + length may not pass the end of the file. */
      length: number;
    }
  | ProbeRequest;

export interface ProbeRequest {
  v: typeof TRANSFER_PROTOCOL_VERSION;
  op: "probe";
  /** PROBE_NONCE_PATTERN: random, chosen by the tracker for this one probe. */
  nonce: string;
}

const PROBE_NONCE_PATTERN = /^[0-9a-f]{32}$/;

/** Bound on one range request, so a piece always fits comfortably in memory. */
export const MAX_RANGE_BYTES = 16 * 1024 * 1024;

/** Bytes of one piece hash in a piece map body. */
export const PIECE_HASH_BYTES = 32;

const MIN_PIECE_SIZE = 256 * 1024;
const TARGET_PIECE_COUNT = 2048;

/**
 * Both sides derive the piece size from the file size alone: a power of two
 * from 256 KiB to 16 MiB, aiming at no more than ~2048 pieces.
 */
export function pieceSizeFor(size: number): number {
  let pieceSize = MIN_PIECE_SIZE;
  while (pieceSize < MAX_RANGE_BYTES && pieceSize * TARGET_PIECE_COUNT < size) pieceSize *= 2;
  return pieceSize;
}

export function pieceCountFor(size: number, pieceSize: number): number {
  return Math.ceil(size / pieceSize);
}

/** The header of a `pieces` answer; `count` hashes follow. */
export interface PieceMapHeader {
  status: "ok";
  size: number;
  root: string;
  pieceSize: number;
  count: number;
}

/** The header of a `range` answer; `length` bytes follow. size and root name the whole file served. */
export interface RangeHeader {
  status: "ok";
  size: number;
  root: string;
  offset: number;
  length: number;
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

function isFailureStatus(value: unknown): value is Exclude<TransferStatus, "ok"> {
  return typeof value === "string" && value !== "ok" && (TRANSFER_STATUSES as readonly string[]).includes(value);
}

export type TransferHeader =
  | { status: "ok"; size: number; root: string }
  | { status: Exclude<TransferStatus, "ok">; message: string };

export function encodeLine(value: object): string {
  return `${JSON.stringify(value)}\n`;
}

export function parseTransferRequest(line: string): TransferRequest {
  const obj = parseJsonObject(line, "the request");
  if (obj.v !== TRANSFER_PROTOCOL_VERSION) {
    throw new ProtocolFailure("bad-message", `unsupported protocol version ${JSON.stringify(obj.v)}; this peer speaks ${TRANSFER_PROTOCOL_VERSION}`);
  }
  if (obj.op === "get" || obj.op === "pieces") return { v: TRANSFER_PROTOCOL_VERSION, op: obj.op, path: checkPath(obj.path) };
  if (obj.op === "probe") {
    if (typeof obj.nonce !== "string" || !PROBE_NONCE_PATTERN.test(obj.nonce)) throw new ProtocolFailure("bad-message", "a probe's nonce must be 32 lowercase hex digits");
    return { v: TRANSFER_PROTOCOL_VERSION, op: "probe", nonce: obj.nonce };
  }
  if (obj.op !== "range") throw new ProtocolFailure("unknown-type", `unknown operation ${JSON.stringify(obj.op)}`);
  const path = checkPath(obj.path);
  const { offset, length } = obj;
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
    throw new ProtocolFailure("bad-message", "offset must be a non-negative integer");
  }
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 1 || length > MAX_RANGE_BYTES) {
    throw new ProtocolFailure("bad-message", `length must be an integer from 1 to ${MAX_RANGE_BYTES}`);
  }
  return { v: TRANSFER_PROTOCOL_VERSION, op: "range", path, offset, length };
}

const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** An ok `pieces` header, checked against the piece rules both sides share. */
export function parsePieceMapHeader(line: string): PieceMapHeader | Exclude<TransferHeader, { status: "ok" }> {
  const obj = parseJsonObject(line, "the peer's reply");
  const header = readTransferHeader(obj);
  if (header.status !== "ok") return header;
  const { pieceSize, count } = obj;
  if (pieceSize !== pieceSizeFor(header.size) || !isCount(count) || count !== pieceCountFor(header.size, pieceSize)) {
    throw new ProtocolFailure("bad-message", "the peer's piece map does not follow the piece rules");
  }
  return { ...header, pieceSize, count };
}

/** An ok `range` header, checked against the range that was asked for. */
export function parseRangeHeader(line: string, offset: number, length: number): RangeHeader | Exclude<TransferHeader, { status: "ok" }> {
  const obj = parseJsonObject(line, "the peer's reply");
  const header = readTransferHeader(obj);
  if (header.status !== "ok") return header;
  if (obj.offset !== offset || obj.length !== length) {
    throw new ProtocolFailure("bad-message", `the peer answered a different range than ${offset}+${length}`);
  }
  return { ...header, offset, length };
}

const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

export function parseTransferHeader(line: string): TransferHeader {
  return readTransferHeader(parseJsonObject(line, "the peer's reply"));
}

function readTransferHeader(obj: JsonObject): TransferHeader {
  const status = obj.status;
  if (status === "ok") {
    const { size, root } = obj;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
      throw new ProtocolFailure("bad-message", "the peer's reply has an invalid size");
    }
    if (typeof root !== "string" || !DIGEST_PATTERN.test(root)) {
      throw new ProtocolFailure("bad-message", "the peer's reply has an invalid root");
    }
    return { status, size, root };
  }
  if (isFailureStatus(status)) {
    // Another peer's words, shown to this peer's user: bounded and terminal-safe.
    const message = typeof obj.message === "string" ? sanitizeProse(obj.message.slice(0, 1000)) : status;
    return { status, message };
  }
  throw new ProtocolFailure("bad-message", "the peer's reply has an unknown status");
}

/** The line the tracker sends to probe a mini-server. */
export function probeLine(nonce: string): string {
  return encodeLine({ v: TRANSFER_PROTOCOL_VERSION, op: "probe", nonce });
}

/** The mini-server's answer to a probe: the nonce back. */
export interface ProbeAnswer {
  status: "ok";
  probe: string;
}

export function probeAnswer(nonce: string): ProbeAnswer {
  return { status: "ok", probe: nonce };
}

/**
 * What a probe's answer line says: "answered" only for this probe's nonce;
 * "old-peer" for a mini-server's refusal (one from before probes answers
 * bad-request); "other" for anything else, such as another service.
 */
export function readProbeAnswer(line: string, nonce: string): "answered" | "busy" | "old-peer" | "other" {
  let obj: JsonObject;
  try {
    obj = parseJsonObject(line, "the probe's answer");
  } catch {
    return "other";
  }
  if (obj.status === "ok" && obj.probe === nonce) return "answered";
  if (obj.status === "busy") return "busy";
  if (obj.status === "bad-request") return "old-peer";
  return "other";
}
