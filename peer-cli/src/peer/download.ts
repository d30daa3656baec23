/**
 * One download: from a user's mini-server into `<save>.part`, verified, then
 * renamed into place. The final name only ever holds a complete, checked file.
 */
import { lstat, mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { UserAddress } from "@p2p/shared";
import { EXIT, PeerError } from "../errors.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { fetchFromPeer } from "../mini-server/fetch-from-peer.ts";

export interface DownloadRequest {
  from: UserAddress;
  path: string;
  save: string;
  force: boolean;
  onProgress?: (received: number, total: number) => void;
  signal?: AbortSignal;
}

/** Saves paths being written right now, so two downloads never share a `.part`. */
const inFlight = new Set<string>();

export async function downloadFile(request: DownloadRequest): Promise<OfferedFile> {
  const { from, path, save, force } = request;
  if (inFlight.has(save)) throw new PeerError("busy", `a download to ${save} is already running`, EXIT.downloadFailed);
  const existing = await lstat(save).catch(() => null);
  if (existing?.isDirectory()) throw new PeerError("exists", `${save} is a directory; give a file path to save to`, EXIT.downloadFailed);
  if (existing && !force) throw new PeerError("exists", `${save} already exists; use --force to overwrite it`, EXIT.downloadFailed);

  inFlight.add(save);
  const part = `${save}.part`;
  try {
    await mkdir(dirname(save), { recursive: true });
    let received: { size: number; sha256: string };
    try {
      received = await fetchFromPeer({
        host: from.host,
        port: from.port,
        path,
        to: part,
        owner: from.user,
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (error) {
      await rm(part, { force: true });
      if (error instanceof PeerError) {
        throw new PeerError(error.code, `cannot download ${path} from ${from.user}: ${error.message}`, EXIT.downloadFailed);
      }
      throw error;
    }
    await rename(part, save);
    const info = await stat(save);
    return { path: save, size: received.size, sha256: received.sha256, dev: info.dev, ino: info.ino, mtimeMs: info.mtimeMs };
  } finally {
    inFlight.delete(save);
  }
}
