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

/** The UTF-8 bytes of all the paths one user offers, together: no user takes much of the catalog. */
export const MAX_USER_PATH_BYTES = 1024 * 1024;

/**
 * The whole catalog: an upper bound, in bytes, on the file listing as JSON
 * (`list-files`'s result and `GET /api/files`). Far below the platform's
 * 32 MiB bound on an RPC reply or a WebSocket message, and small enough for
 * every peer to fetch, hold and cache in `files.json`.
 */
export const MAX_CATALOG_BYTES = 8 * 1024 * 1024;

/**
 * Paged listings: a page holds at most `limit` entries (DEFAULT_PAGE_LIMIT
 * when a filter is given without one; at most MAX_PAGE_LIMIT) and stops
 * before it passes MAX_PAGE_BYTES of JSON (it always holds one entry), so no
 * page is anywhere near catalog-sized.
 */
export const DEFAULT_PAGE_LIMIT = 1000;
export const MAX_PAGE_LIMIT = 10_000;
export const MAX_PAGE_BYTES = 1024 * 1024;
/** A path filter, in characters. */
export const MAX_QUERY_LENGTH = 256;
/** A cursor names a user and a path: base64url of at most 2 × MAX_PATH_BYTES of JSON and a name. */
export const MAX_CURSOR_LENGTH = 12 * 1024;

/** One peer → tracker message, in UTF-8 bytes. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * One tracker → peer message. The largest is a listing of the whole catalog,
 * larger than a request may be, so replies get their own bound: the catalog
 * and room for the envelope around it.
 */
export const MAX_REPLY_BYTES = MAX_CATALOG_BYTES + 64 * 1024;

/** Host names as advertised in `hello`: a DNS name or an IP literal. */
export const MAX_HOST_LENGTH = 253;

/**
 * Each socket's message budget, a token bucket: it refills at
 * SOCKET_TOKENS_PER_SECOND up to SOCKET_TOKEN_BURST. A message costs one
 * token, and one more per SOCKET_BYTES_PER_TOKEN of its length; a message the
 * tracker cannot read (malformed, or a field out of bounds) costs
 * BAD_MESSAGE_TOKENS in all. Out of tokens, a socket gets one `rate-limited`
 * error and its messages are dropped unread until the bucket refills; one
 * that sends SOCKET_DROPS_BEFORE_CLOSE more before then is closed with
 * CLOSE_POLICY_VIOLATION.
 *
 * The tracker decides only as it takes each message from the runtime's queue,
 * and every message a flood sends before its close is queued ahead of
 * everyone else's; so a flood must reach its close after as few messages as
 * possible. A peer never sends a malformed message (twenty in a burst are plenty
 * to show a broken client its error), and one told `rate-limited` has a few
 * messages in flight at most: hence the high cost, and a close that counts
 * messages rather than tokens (on a busy object the bucket sees a flood only
 * as fast as the object gets to it, hardly faster than it refills).
 */
export const SOCKET_TOKENS_PER_SECOND = 200;
export const SOCKET_TOKEN_BURST = 400;
export const SOCKET_DROPS_BEFORE_CLOSE = 20;
export const SOCKET_BYTES_PER_TOKEN = 16 * 1024;

/**
 * What answering costs a socket beside its message: a reply takes one more
 * token per REPLY_BYTES_PER_TOKEN (a snapshot's eight 1 MiB pages cost 128),
 * and a change set the tracker had to fold afresh one per
 * FOLDED_CHANGES_PER_TOKEN changes it read, so asking for many different
 * old versions cannot keep the object folding.
 */
export const REPLY_BYTES_PER_TOKEN = 64 * 1024;
export const FOLDED_CHANGES_PER_TOKEN = 50;

/**
 * Each socket's churn budget: the bytes of register and unregister messages
 * it may send, refilling at CHURN_BYTES_PER_SECOND up
 * to CHURN_BURST_BYTES (room for a user's whole quota as JSON at its
 * largest: 10,000 entries with their roots, and paths whose backslashes
 * JSON doubles). Every change reaches every syncing peer, so this, not the
 * message rate, bounds what one socket can make the tracker send everyone.
 * Over it: `rate-limited`, nothing changed.
 */
export const CHURN_BYTES_PER_SECOND = 32 * 1024;
export const CHURN_BURST_BYTES = 4 * MAX_USER_PATH_BYTES;
/**
 * The same for all connections from one address together, which a client
 * cannot reset by reconnecting: sixteen users' whole quotas at once, and
 * twice one connection's pace, so the many users behind one carrier-grade
 * NAT still register what they download.
 */
export const CHURN_ADDRESS_BYTES_PER_SECOND = 64 * 1024;
export const CHURN_ADDRESS_BURST_BYTES = 16 * MAX_USER_PATH_BYTES;

/**
 * A filtered page ends, with a cursor, after looking at this many entries or
 * this many bytes of paths, however few matched; the paths it looked at cost
 * its socket a token per SCANNED_BYTES_PER_TOKEN.
 */
export const MAX_SCANNED_PER_PAGE = 20_000;
export const MAX_SCANNED_BYTES_PER_PAGE = 1024 * 1024;
export const SCANNED_BYTES_PER_TOKEN = 32 * 1024;
export const BAD_MESSAGE_TOKENS = 20;

/** Open sockets from one address (as Cloudflare sees it); more are refused with HTTP 429. */
export const MAX_SOCKETS_PER_ADDRESS = 64;

/**
 * Browsers watching the live page (`/live`): they never count as peers, and
 * have bounds of their own, per address (tabs behind one NAT) and in all,
 * since every notice goes to each of them.
 */
export const MAX_OBSERVERS_PER_ADDRESS = 16;
export const MAX_OBSERVERS = 256;

/** WebSocket close codes the tracker uses. */
export const CLOSE_POLICY_VIOLATION = 1008;
/** The tracker lost a write: the peer should reconnect and register again. */
export const CLOSE_STORAGE_FAILED = 1011;
/** No ping for the heartbeat timeout. */
export const CLOSE_NO_HEARTBEAT = 4001;
