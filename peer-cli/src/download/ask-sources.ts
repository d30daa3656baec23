/**
 * Asks every source for its piece map at once and hands the answers on in
 * the order they arrive. A source that has not answered in time is given up
 * on and its connection closed, so one frozen holder never holds up a
 * download that others can serve.
 */
import { EXIT, PeerError } from "../errors.ts";
import type { PieceMap } from "./piece-map.ts";
import { SourceConnection } from "./source-connection.ts";
import type { SwarmSource } from "./swarm.ts";

export interface SourceAddress {
  user: string;
  host: string;
  port: number;
  /** The file's path on that source. */
  path: string;
  /** What the tracker found when it connected to this source (null: not checked). */
  reachable?: boolean | null;
}

export type SourceAnswer = { ok: true; source: SwarmSource; map: PieceMap } | { ok: false; user: string; error: PeerError };

export interface Answers {
  /** The next answer, or undefined once every source has answered or been given up on. */
  next(): Promise<SourceAnswer | undefined>;
  /** Stops waiting: sources still being asked are closed, answers not yet taken are closed too. */
  cancel(): void;
}

export function askSources(sources: readonly SourceAddress[], options: { answerWithinMs: number; size: number; signal?: AbortSignal }): Answers {
  const arrived: SourceAnswer[] = [];
  const open = new Set<SourceConnection>();
  let left = sources.length;
  let cancelled = false;
  let wake: (() => void) | undefined;

  const deliver = (answer: SourceAnswer) => {
    left--;
    if (cancelled) {
      if (answer.ok) answer.source.connection.close();
    } else arrived.push(answer);
    wake?.();
  };

  for (const source of sources) {
    void ask(source).then(deliver);
  }

  async function ask(source: SourceAddress): Promise<SourceAnswer> {
    // Bounds connecting and the map's answer; afterwards only the caller's signal can end the connection.
    const limit = new AbortController();
    const onAbort = () => limit.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    if (options.signal?.aborted) limit.abort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      limit.abort();
    }, options.answerWithinMs);
    let connection: SourceConnection | undefined;
    try {
      connection = await SourceConnection.open({ host: source.host, port: source.port, owner: source.user, signal: limit.signal });
      open.add(connection);
      if (cancelled) connection.close();
      const map = await connection.pieceMap(source.path, options.size);
      clearTimeout(timer);
      return { ok: true, source: { user: source.user, path: source.path, connection }, map };
    } catch (error) {
      connection?.close();
      options.signal?.removeEventListener("abort", onAbort);
      const failure = timedOut
        ? new PeerError("stalled", `${source.user} did not answer within ${options.answerWithinMs / 1000} s`, EXIT.downloadFailed)
        : error instanceof PeerError
          ? error
          : new PeerError("unreachable", `cannot ask ${source.user}: ${String(error)}`, EXIT.downloadFailed);
      return { ok: false, user: source.user, error: failure };
    } finally {
      clearTimeout(timer);
      if (connection) open.delete(connection);
    }
  }

  return {
    async next() {
      for (;;) {
        const answer = arrived.shift();
        if (answer) return answer;
        if (left === 0 || cancelled) return undefined;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    },
    cancel() {
      cancelled = true;
      for (const connection of open) connection.close();
      for (const answer of arrived.splice(0)) if (answer.ok) answer.source.connection.close();
      wake?.();
    },
  };
}
