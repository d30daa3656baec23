/**
 * A closed-loop WebSocket load generator: each client keeps exactly one
 * request outstanding and records the round-trip time of each.
 */
import { isReachabilityPush } from "@p2p/shared";

export class LoadClient {
  private readonly ws: WebSocket;
  private waiting: ((text: string) => void) | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      // The tracker's unasked reachability report answers no request.
      if (typeof event.data === "string" && isReachabilityPush(event.data)) return;
      const resolve = this.waiting;
      this.waiting = null;
      resolve?.(typeof event.data === "string" ? event.data : "");
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
    return new Promise((resolve) => {
      this.waiting = resolve;
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
}

/** Runs every client in a closed loop for `durationMs`; `next` builds each client's next message. */
export async function closedLoop(
  clients: readonly LoadClient[],
  durationMs: number,
  next: (client: number, seq: number) => string,
  check: (reply: string) => void = () => {},
): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  await Promise.all(
    clients.map(async (client, index) => {
      for (let seq = 0; performance.now() < deadline; seq++) {
        const sent = performance.now();
        check(await client.request(next(index, seq)));
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { ops: latencies.length, seconds, perSecond: latencies.length / seconds, latenciesMs: latencies };
}
