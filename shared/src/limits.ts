/** Limits shared by the tracker and the peers; both sides enforce them. */

/** A user name: 1–64 characters from this set. */
export const USER_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
export const MAX_USER_NAME_LENGTH = 64;

/** An absolute path, measured in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;

/** Files named in one register or unregister message. */
export const MAX_FILES_PER_MESSAGE = 1000;

/** Files one user may offer at once. */
export const MAX_FILES_PER_USER = 10_000;

/** One peer → tracker message, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * One tracker → peer message. Listings of many users are larger than a
 * request may be, so replies get their own bound.
 */
export const MAX_REPLY_BYTES = 256 * 1024 * 1024;

/** Host names as advertised in `hello`: a DNS name or an IP literal. */
export const MAX_HOST_LENGTH = 253;

/**
 * Each socket's message budget, a token bucket: it refills at
 * SOCKET_TOKENS_PER_SECOND up to SOCKET_TOKEN_BURST. A message costs one
 * token, and one more per SOCKET_BYTES_PER_TOKEN of its length; a message the
 * tracker cannot read (malformed, or a field out of bounds) costs
 * BAD_MESSAGE_TOKENS in all. Out of tokens, a socket gets one `rate-limited`
 * error and its messages are dropped unread until the bucket refills; one
 * that runs a further burst into debt is closed with CLOSE_POLICY_VIOLATION.
 */
export const SOCKET_TOKENS_PER_SECOND = 200;
export const SOCKET_TOKEN_BURST = 400;
export const SOCKET_BYTES_PER_TOKEN = 16 * 1024;
export const BAD_MESSAGE_TOKENS = 10;

/** Open sockets from one address (as Cloudflare sees it); more are refused with HTTP 429. */
export const MAX_SOCKETS_PER_ADDRESS = 64;

/** WebSocket close codes the tracker uses. */
export const CLOSE_POLICY_VIOLATION = 1008;
/** No ping for the heartbeat timeout. */
export const CLOSE_NO_HEARTBEAT = 4001;
