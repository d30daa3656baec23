/**
 * The register and unregister commands: check the name and the files, hash
 * what is new, then let the announcer tell the tracker. All or nothing:
 * one bad file and nothing is registered.
 */
import { checkUserName, MAX_FILES_PER_USER, ProtocolFailure } from "@p2p/shared";
import type { RegisterOutcome, UnregisterOutcome } from "../control/protocol.ts";
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import { hashFile } from "../files/fingerprint.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import type { TrackerClient } from "../tracker/tracker-client.ts";
import type { Announcer } from "./announcer.ts";
import { mapLimit } from "./batching.ts";

/** Files hashed at once when registering many. */
const HASH_CONCURRENCY = 4;

export async function registerFiles(announcer: Announcer, tracker: TrackerClient, user: string, paths: readonly string[]): Promise<RegisterOutcome> {
  checkName(user);
  announcer.checkOwnName(user, "register as");
  tracker.ensureConnected();
  const unique = [...new Set(paths)];
  const fresh = unique.filter((p) => !announcer.files.get(p)).length;
  if (announcer.files.size + fresh > MAX_FILES_PER_USER) {
    throw new PeerError("too-many-files", `a user may offer at most ${MAX_FILES_PER_USER} files; this would make ${announcer.files.size + fresh}`);
  }
  const results = await mapLimit(unique, HASH_CONCURRENCY, async (path): Promise<{ file: OfferedFile; leaves: Buffer } | { path: string; error: string }> => {
    try {
      const { fingerprint, leaves } = await hashFile(path);
      return { file: { path, ...fingerprint }, leaves };
    } catch (error) {
      return { path, error: errorMessage(error) };
    }
  });
  const files: OfferedFile[] = [];
  const leaves = new Map<string, Buffer>();
  const failures: string[] = [];
  for (const result of results) {
    if ("file" in result) {
      files.push(result.file);
      leaves.set(result.file.path, result.leaves);
    } else failures.push(`  ${result.path}: ${result.error}`);
  }
  if (failures.length > 0) {
    throw new PeerError("bad-files", `nothing was registered; ${failures.length} of ${unique.length} files cannot be offered:\n${failures.join("\n")}`);
  }
  return announcer.offer(user, files, leaves);
}

export function unregisterFiles(announcer: Announcer, user: string, paths: readonly string[]): Promise<UnregisterOutcome> {
  checkName(user);
  return announcer.withdraw(user, paths);
}

function checkName(user: string): void {
  try {
    checkUserName(user);
  } catch (error) {
    if (error instanceof ProtocolFailure) throw new PeerError(error.code, error.message, EXIT.usage);
    throw error;
  }
}
