/**
 * A failed write on the downloader's own disk, told as what it is: the disk,
 * not a source, is at fault, and the download fails (exit 5) saying what
 * was kept.
 */
import { EXIT, PeerError } from "../errors.ts";
import { errnoCode } from "../files/errno.ts";

export function writeFailure(error: unknown, path: string, kept = ""): PeerError {
  if (error instanceof PeerError) return error;
  const code = errnoCode(error);
  const tail = kept ? `; ${kept}` : "";
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new PeerError("no-space", `the disk is full writing ${path}${tail}`, EXIT.downloadFailed);
    case "EROFS":
      return new PeerError("unwritable", `cannot write ${path}: the file system is read-only${tail}`, EXIT.downloadFailed);
    case "EACCES":
    case "EPERM":
      return new PeerError("unwritable", `cannot write ${path}: permission denied${tail}`, EXIT.downloadFailed);
    case "ENOTDIR":
      return new PeerError("unwritable", `cannot write ${path}: a part of its folder path is not a folder${tail}`, EXIT.downloadFailed);
    case "ENAMETOOLONG":
      return new PeerError("unwritable", `cannot write ${path}: the name is too long for the file system${tail}`, EXIT.downloadFailed);
    case "EFBIG":
      return new PeerError("unwritable", `cannot write ${path}: the file is too large for the file system${tail}`, EXIT.downloadFailed);
    default:
      return new PeerError("unwritable", `cannot write ${path}: ${code}${tail}`, EXIT.downloadFailed);
  }
}
