/**
 * One client connection's request loop: reads each request line, checks it,
 * and hands it to its answer, in order, until the client is done or an
 * answer ends the connection. A connection carries one `get`, or any number
 * of `pieces` and `range` requests.
 */
import { MAX_TRANSFER_HEADER_BYTES, parseTransferRequest, probeAnswer, type TransferRequest } from "@p2p/shared";
import { errorMessage } from "../errors.ts";
import type { OfferedFile } from "../files/offered-files.ts";
import { answerGet, answerRange, type BodyOptions } from "./answer-bytes.ts";
import { answerPieces } from "./answer-pieces.ts";
import type { ClientSocket } from "./client-socket.ts";
import type { PieceMaps } from "./piece-maps.ts";
import { RequestLines } from "./request-lines.ts";

export interface ServeContext {
  files: { get(path: string): OfferedFile | undefined };
  pieceMaps: PieceMaps;
  /** A client must send its whole first request line within this time. */
  headerTimeoutMs: number;
  body: BodyOptions;
  /** Requests being answered right now, over all connections. */
  transfers: { active: number };
}

export async function serveConnection(client: ClientSocket, context: ServeContext): Promise<void> {
  const requests = new RequestLines(client.socket);
  for (let first = true; ; first = false) {
    client.progress.waiting();
    // The first request has an absolute deadline; later ones only the idle timeout.
    const next = await requests.next(first ? context.headerTimeoutMs : undefined);
    client.progress.answering();
    if (next === "closed") return;
    if (next === "ended" && !first) {
      // The client has asked all it wanted and everything is answered.
      client.end();
      return;
    }
    if (typeof next !== "object") {
      requests.discard();
      client.reply({
        status: "bad-request",
        message: next === "too-long" ? `the request line is longer than ${MAX_TRANSFER_HEADER_BYTES} bytes` : "the request ended without a newline",
      });
      return;
    }

    let request: TransferRequest;
    try {
      request = parseTransferRequest(next.line);
    } catch (error) {
      requests.discard();
      client.reply({ status: "bad-request", message: errorMessage(error) });
      return;
    }

    if (request.op === "probe") {
      // The tracker checking that others can reach us: its nonce back, nothing read from disk.
      requests.discard();
      client.reply(probeAnswer(request.nonce));
      return;
    }

    // Exact string match only: no normalisation, so "/a/../b" is never "/b".
    const offered = context.files.get(request.path);
    if (offered === undefined) {
      requests.discard();
      client.reply({ status: "not-found", message: `${request.path} is not offered by this peer` });
      return;
    }

    if (request.op === "get") {
      // Nothing after a get is part of the protocol; keep draining it so
      // unread input never turns our close into a reset.
      requests.discard();
      await answer(context, () => answerGet(client, offered, context.body));
      return;
    }
    const more =
      request.op === "range"
        ? await answer(context, () => answerRange(client, offered, request.offset, request.length, context.body))
        : await answer(context, () => answerPieces(client, offered, context.pieceMaps));
    if (!more) {
      requests.discard();
      return;
    }
  }
}

async function answer<T>(context: ServeContext, work: () => Promise<T>): Promise<T> {
  context.transfers.active++;
  try {
    return await work();
  } finally {
    context.transfers.active--;
  }
}
