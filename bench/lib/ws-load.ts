/**
 * A closed-loop WebSocket load generator: each client keeps exactly one
 * request outstanding and records the round-trip time of each.
 */
import { isReachabilityPush } from "@p2p/shared";

export class LoadClient {
  private readonly ws: WebSocket;
  private waiting: { resolve: (text: string) => void; reject: (error: Error) => void } | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      // The tracker's unasked reachability report answers no request.
      if (typeof event.data === "string" && isReachabilityPush(event.data)) return;
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.resolve(typeof event.data === "string" ? event.data : "");
    });
    // A request the server will never answer fails instead of hanging the benchmark.
    ws.addEventListener("close", (event) => {
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(new Error(`the server closed the socket (${event.code} ${event.reason})`));
    });
  }

  static open(url: string): Promise<LoadClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener("open", () => resolve(new LoadClient(ws)), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
  }

  /** Sends one message and resolves with the next message received. */
  request(text: string): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.ws.send(text);
    });
  }

  close(): void {
    this.ws.close();
  }
}

export async function openClients(url: string, count: number): Promise<LoadClient[]> {
  const clients: LoadClient[] = [];
  // Connect in waves so the accept queue is not the thing being measured.
  for (let i = 0; i < count; i += 50) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => LoadClient.open(url)))));
  }
  return clients;
}

export interface LoadResult {
  ops: number;
  seconds: number;
  perSecond: number;
  latenciesMs: number[];
  /** Requests still unanswered when the loop gave up on them (their latency is counted up to then). */
  unanswered: number;
}

/**
 * Runs every client in a closed loop for `durationMs`; `next` builds each
 * client's next message. With `giveUpAfterMs`, a request still unanswered
 * that long after the end is counted as unanswered, its latency taken up to
 * then, and its client must not be used again.
 */
export async function closedLoop(
  clients: readonly LoadClient[],
  durationMs: number,
  next: (client: number, seq: number) => string,
  check: (reply: string) => void = () => {},
  giveUpAfterMs = Number.POSITIVE_INFINITY,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  let unanswered = 0;
  let giveUpTimer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    if (Number.isFinite(giveUpAfterMs)) giveUpTimer = setTimeout(() => resolve(undefined), durationMs + giveUpAfterMs);
  });
  await Promise.all(
    clients.map(async (client, index) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const sent = performance.now();
        const reply = await Promise.race([client.request(next(index, seq)), gaveUp]);
        latencies.push(performance.now() - sent);
        if (reply === undefined) {
          unanswered++;
          return;
        }
        check(reply);
      }
    }),
  );
  clearTimeout(giveUpTimer);
  const seconds = (performance.now() - started) / 1000;
  return { ops: latencies.length - unanswered, seconds, perSecond: (latencies.length - unanswered) / seconds, latenciesMs: latencies, unanswered };
}
