/**
 * The tracker's totals, as `GET /api/stats` answers and the live page shows
 * them: kept up to date with every change, so reading them never walks the
 * catalog.
 */
import { parseJsonObject } from "./json.ts";
import type { Version } from "./protocol.ts";
import { ProtocolFailure } from "./validate.ts";

export interface TrackerStats {
  /** Users online: names held by a live connection. */
  users: number;
  /** Entries in the listing: one per (user, path). */
  files: number;
  /** The sizes of those entries, added up: what is offered, counting a file once per holder. */
  bytes: number;
  /** Distinct content roots: different contents, however many users hold each. */
  contents: number;
  /** Browsers watching the live page. */
  watching: number;
  version: Version;
  /** When this epoch began (the tracker's last start with no peer connected), ISO 8601; null if it predates the record. */
  startedAt: string | null;
  /** Whole seconds since then; null with it. */
  uptimeSeconds: number | null;
}

const COUNTS = ["users", "files", "bytes", "contents", "watching"] as const;
const MAX_STATS_LENGTH = 4096;

/** Reads /api/stats, checked like anything else from the tracker. */
export function parseStats(text: string): TrackerStats {
  if (text.length > MAX_STATS_LENGTH) throw new ProtocolFailure("too-large", "the stats reply is too large");
  const body = parseJsonObject(text, "the stats reply");
  for (const key of COUNTS) {
    const value = body[key];
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
      throw new ProtocolFailure("bad-message", `the stats reply's "${key}" must be a count`);
    }
  }
  if (typeof body.version !== "string") throw new ProtocolFailure("bad-message", 'the stats reply\'s "version" must be a string');
  const { startedAt, uptimeSeconds } = body;
  if (startedAt !== null && (typeof startedAt !== "string" || Number.isNaN(Date.parse(startedAt)))) {
    throw new ProtocolFailure("bad-message", 'the stats reply\'s "startedAt" must be a date or null');
  }
  if (uptimeSeconds !== null && (typeof uptimeSeconds !== "number" || !Number.isSafeInteger(uptimeSeconds) || uptimeSeconds < 0)) {
    throw new ProtocolFailure("bad-message", 'the stats reply\'s "uptimeSeconds" must be a count or null');
  }
  return body as unknown as TrackerStats;
}
