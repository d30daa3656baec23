/**
 * The tracker with a count of everything the runtime hands its object: each
 * start (a first start or a wake after eviction), message, alarm, request
 * and RPC. Pings the auto-response answers never reach the object, so they
 * are not counted: that is what the sync benchmark measures. Counts are kept
 * in the object's storage, so an eviction loses none. `GET /debug/invocations`
 * reads them (the read itself is not counted, though it may start the object).
 * Benchmarks only: the tracker that ships counts nothing.
 */
import app, { Tracker } from "../../worker/src/index.ts";

export class CountingTracker extends Tracker {
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS bench_invocations (kind TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    this.count("start");
  }

  private count(kind: string): void {
    this.ctx.storage.sql.exec("INSERT INTO bench_invocations (kind, n) VALUES (?, 1) ON CONFLICT (kind) DO UPDATE SET n = n + 1", kind);
  }

  override async fetch(request: Request): Promise<Response> {
    this.count("fetch");
    return super.fetch(request);
  }

  override async alarm(): Promise<void> {
    this.count("alarm");
    return super.alarm();
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    this.count("message");
    return super.webSocketMessage(ws, message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    this.count("close");
    return super.webSocketClose(ws, code);
  }

  override filesJson(): Promise<string> {
    this.count("rpc");
    return super.filesJson();
  }

  override usersJson(): Promise<string> {
    this.count("rpc");
    return super.usersJson();
  }

  invocations(): Record<string, number> {
    const rows = this.ctx.storage.sql.exec<{ kind: string; n: number }>("SELECT kind, n FROM bench_invocations").toArray();
    return Object.fromEntries(rows.map((row) => [row.kind, row.n]));
  }
}

export default {
  async fetch(request: Request, env: Cloudflare.Env, ctx: ExecutionContext): Promise<Response> {
    if (new URL(request.url).pathname === "/debug/invocations") {
      const stub = env.TRACKER.get(env.TRACKER.idFromName("tracker")) as unknown as DurableObjectStub<CountingTracker>;
      return Response.json(await stub.invocations());
    }
    return app.fetch(request, env, ctx);
  },
};
