/**
 * The mini-server's `pieces` answer: the piece map of a registered file (one
 * SHA-256 per piece), from the cache or computed once, so a downloader can
 * check every piece it fetches from anyone.
 */
import { pieceCountFor, pieceSizeFor, type PieceMapHeader } from "@p2p/shared";
import { errnoCode } from "../files/errno.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import type { ClientSocket } from "./client-socket.ts";
import { PieceMapFailure, type PieceMaps } from "./piece-maps.ts";

/** True when the connection may go on. */
export async function answerPieces(client: ClientSocket, offered: OfferedFile, pieceMaps: PieceMaps): Promise<boolean> {
  const { path, size } = offered;
  try {
    let digests: Buffer;
    try {
      // Hashing a big file the first time can take a while without traffic.
      digests = await client.whileWorking(() => pieceMaps.get(offered));
    } catch (error) {
      if (!(error instanceof PieceMapFailure)) throw error;
      client.reply({ status: error.status, message: error.message });
      return false;
    }
    if (client.gone) return false;
    const pieceSize = pieceSizeFor(size);
    const header: PieceMapHeader = { status: "ok", size, root: offered.root, pieceSize, count: pieceCountFor(size, pieceSize) };
    client.header(header);
    await client.write(digests);
    return true;
  } catch (error) {
    client.log(`sending the piece map of ${path} to ${client.remote} stopped: ${errnoCode(error)}`);
    client.destroy();
    return false;
  }
}
