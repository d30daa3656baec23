/** A test peer: a real WebSocket to the worker under test, inside workerd. */
import { exports } from "cloudflare:workers";
import {
  PROTOCOL_VERSION,
  isReachabilityPush,
  parseReachabilityReport,
  type FileEntry,
  type ReachabilityReport,
  type RequestBody,
  type RequestType,
  type TrackerReply,
} from "@p2p/shared";

export class TrackerSocket {
  private readonly inbox: string[] = [];
  private readonly waiting: ((text: string) => void)[] = [];
  /** CHANGED notices' versions, and the notices as sent, kept apart so that they never pass for a reply. */
  readonly notices: string[] = [];
  readonly noticeTexts: string[] = [];
  private readonly noticeWaiters: ((version: string) => void)[] = [];
  /** Reachability reports the tracker pushed, kept apart from replies. */
  private readonly reports: ReachabilityReport[] = [];
  private readonly reportWaiters: ((report: ReachabilityReport) => void)[] = [];
  private nextId = 1;
  closed = false;
  /** The code the socket was closed with, once it is. */
  closeCode: number | null = null;
  /** The tracker's connection id for this socket, where a test has looked it up. */
  conn: string | null = null;

  readonly ws: WebSocket;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.addEventListener("message", (event) => {
      const text = typeof event.data === "string" ? event.data : "<binary>";
      if (isReachabilityPush(text)) {
        const report = parseReachabilityReport(text);
        const waiter = this.reportWaiters.shift();
        if (waiter) waiter(report);
        else this.reports.push(report);
        return;
      }
      if (text.startsWith('{"type":"changed"')) {
        const version = (JSON.parse(text) as { v: string }).v;
        this.notices.push(version);
        this.noticeTexts.push(text);
        for (const wake of this.noticeWaiters.splice(0)) wake(version);
        return;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter(text);
      else this.inbox.push(text);
    });
    ws.addEventListener("close", (event) => {
      this.closed = true;
      this.closeCode = event.code;
    });
  }

  /** `path`: "/ws" for a peer, "/live" for a live page's observer socket. */
  static async open(headers: Record<string, string> = {}, path = "/ws"): Promise<TrackerSocket> {
    const res = await upgrade(headers, path);
    if (res.status !== 101 || !res.webSocket) throw new Error(`upgrade failed: ${res.status}`);
    res.webSocket.accept();
    return new TrackerSocket(res.webSocket);
  }

  /** Opens a socket that has said hello with the given mini-server port. */
  static async hello(port = 4000, host?: string): Promise<TrackerSocket> {
    const socket = await TrackerSocket.open();
    const reply = await socket.request("hello", host === undefined ? { port, protocol: PROTOCOL_VERSION } : { port, host, protocol: PROTOCOL_VERSION });
    if (!reply.ok) throw new Error(`hello failed: ${reply.error.message}`);
    return socket;
  }

  /**
   * Says hello, then waits for the reachability probe's result: a result that
   * came after a register would move the catalog's version (a test that
   * counts versions must not see it move on its own).
   */
  static async probed(port = 4000): Promise<TrackerSocket> {
    const socket = await TrackerSocket.hello(port);
    await socket.report();
    return socket;
  }

  next(): Promise<string> {
    const text = this.inbox.shift();
    if (text !== undefined) return Promise.resolve(text);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The next message, or null if none comes within `ms`. */
  nextWithin(ms: number): Promise<string | null> {
    const text = this.inbox.shift();
    if (text !== undefined) return Promise.resolve(text);
    return new Promise((resolve) => {
      const waiter = (message: string) => {
        clearTimeout(timer);
        resolve(message);
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        resolve(null);
      }, ms);
      this.waiting.push(waiter);
    });
  }

  /** Waits until a notice of `version` has come (deadline: 10 s). */
  async noticeOf(version: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!this.notices.includes(version)) {
      if (Date.now() > deadline) throw new Error(`no notice of ${version}; got ${this.notices.join(", ") || "none"}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        this.noticeWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next reachability report pushed to this socket. */
  report(): Promise<ReachabilityReport> {
    const report = this.reports.shift();
    if (report !== undefined) return Promise.resolve(report);
    return new Promise((resolve) => this.reportWaiters.push(resolve));
  }

  async raw(message: string | ArrayBuffer): Promise<TrackerReply> {
    this.ws.send(message);
    return JSON.parse(await this.next()) as TrackerReply;
  }

  request<T extends RequestType>(type: T, body: Omit<RequestBody<T>, "type">): Promise<TrackerReply> {
    return this.raw(JSON.stringify({ id: this.nextId++, type, ...body }));
  }

  /** Sends a request that must succeed and returns its result. */
  async ok<T extends RequestType>(type: T, body: Omit<RequestBody<T>, "type">): Promise<any> {
    const reply = await this.request(type, body);
    if (!reply.ok) throw new Error(`${type} failed: ${reply.error.code}: ${reply.error.message}`);
    return reply.result;
  }

  async close(): Promise<void> {
    this.ws.close(1000, "done");
  }
}

/** Asks the worker for a WebSocket; the response is 101 with the socket, or the refusal. */
export function upgrade(headers: Record<string, string> = {}, path = "/ws"): Promise<Response> {
  return exports.default.fetch(`http://tracker.test${path}`, { headers: { Upgrade: "websocket", ...headers } });
}

export const sha = (seed: string): string => seed.repeat(64).slice(0, 64);

export const file = (path: string, size = 10, hash = "a"): FileEntry => ({ path, size, root: sha(hash) });

export async function api<T>(path: string): Promise<T> {
  const res = await exports.default.fetch(`http://tracker.test${path}`);
  return (await res.json()) as T;
}

/** Waits until the tracker has processed a close, seen through the HTTP API. */
export async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
