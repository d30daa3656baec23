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

/** Open sockets from one address (as Cloudflare sees it); more are refused with HTTP 429. */
export const MAX_SOCKETS_PER_ADDRESS = 64;
