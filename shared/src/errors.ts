/** The closed set of error codes the tracker answers with. */
export const ERROR_CODES = [
  /** The message was not valid JSON. */
  "bad-json",
  /** Valid JSON, but not a well-formed message (missing or mistyped fields). */
  "bad-message",
  /** A well-formed envelope with a `type` the tracker does not know. */
  "unknown-type",
  /** The message is larger than MAX_MESSAGE_BYTES. */
  "too-large",
  /** A user name outside USER_NAME_PATTERN. */
  "invalid-name",
  /** A path that is not absolute, too long, or carries a control character or a lone surrogate. */
  "invalid-path",
  /** A file entry whose size or SHA-256 is malformed. */
  "invalid-file",
  /** A host or port in `hello` that is not usable. */
  "invalid-address",
  /** More files than MAX_FILES_PER_MESSAGE or MAX_FILES_PER_USER allow. */
  "too-many-files",
  /** The user's paths would total more than MAX_USER_PATH_BYTES. */
  "user-quota",
  /** The catalog would grow past MAX_CATALOG_BYTES. */
  "catalog-full",
  /** The socket spent its message budget; what it sends is dropped until the budget refills. */
  "rate-limited",
  /** The address already has MAX_SOCKETS_PER_ADDRESS open sockets (an HTTP 429 on /ws). */
  "too-many-connections",
  /** `register` before the connection said `hello`. */
  "hello-required",
  /** The name belongs to another live connection. */
  "name-taken",
  /** This connection already holds a different name. */
  "name-mismatch",
  /** No live connection holds that name. */
  "unknown-user",
  /** The name is held by another connection, so this one may not change it. */
  "not-owner",
  /** The tracker failed; the request changed nothing. */
  "internal",
  /** A `since` that is not a version the tracker writes. */
  "invalid-version",
  /** A `cursor` that is not one the tracker wrote for this listing. */
  "invalid-cursor",
  /** A sharded tracker: this socket's shard does not hold the name; connect again with `?user=<name>` (SCALING.md). */
  "wrong-shard",
  /** A `limit` that is not an integer from 1 to MAX_PAGE_LIMIT. */
  "invalid-limit",
  /** A path filter (`q`) that is empty, too long or holds a control character. */
  "invalid-filter",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ProtocolError {
  code: ErrorCode;
  message: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}
