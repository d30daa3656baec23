/**
 * A benchmark client's WebSocket to the tracker: requests matched to their
 * replies by id (several may be in flight), and the tracker's own messages
 * (pongs, notices: `{"type":…}`) handed to a callback.
 */

export class JsonSocket {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, (text: string) => void>();
  #nextId = 1;
  onPush: (text: string) => void = () => {};

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      const text = String(event.data);
      if (text.startsWith('{"type":')) return this.onPush(text);
      const id = (JSON.parse(text) as { id: number }).id;
      this.#pending.get(id)?.(text);
      this.#pending.delete(id);
    });
  }

  static async open(url: string): Promise<JsonSocket> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve(), { once: true });
      ws.addEventListener("error", () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
    return new JsonSocket(ws);
  }

  get open(): boolean {
    return this.#ws.readyState === WebSocket.OPEN;
  }

  /** Sends a request and resolves with its reply's text. */
  request(body: object): Promise<string> {
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#ws.send(JSON.stringify({ id, ...body }));
    });
  }

  /** A request that must succeed; its result. */
  async ok<T>(body: object): Promise<T> {
    const reply = JSON.parse(await this.request(body)) as { ok: boolean; result: T; error?: unknown };
    if (!reply.ok) throw new Error(`the tracker refused ${JSON.stringify(body).slice(0, 80)}: ${JSON.stringify(reply.error)}`);
    return reply.result;
  }

  send(text: string): void {
    if (this.open) this.#ws.send(text);
  }

  close(): void {
    this.#ws.close();
  }
}

/** Opens `count` of something in waves of 50, so the accept queue is not what is measured. */
export async function inWaves<T>(count: number, open: (index: number) => Promise<T>): Promise<T[]> {
  const opened: T[] = [];
  for (let i = 0; i < count; i += 50) opened.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, (_, j) => open(i + j)))));
  return opened;
}
