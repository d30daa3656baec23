/** An echo Durable Object behind a worker: what the stack can do with no tracker logic at all. */
import { DurableObject } from "cloudflare:workers";

interface EchoEnv {
  ECHO: DurableObjectNamespace<Echo>;
}

export class Echo extends DurableObject<EchoEnv> {
  override async fetch(): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    ws.send(message);
  }

  override async webSocketClose(ws: WebSocket, code: number): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, "closing");
    } catch {
      // Already closed.
    }
  }
}

export default {
  async fetch(request: Request, env: EchoEnv): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("echo", { status: 200 });
    return env.ECHO.get(env.ECHO.idFromName("echo")).fetch(request);
  },
};
