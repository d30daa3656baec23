/**
 * One reachability probe: connect to a peer's mini-server, send the probe
 * line with a fresh nonce, and read one answer line, all within a deadline.
 * Only a line carrying this nonce counts as reached; anything else listening
 * on that port does not.
 */
import { connect } from "cloudflare:sockets";
import { MAX_TRANSFER_HEADER_BYTES, probeLine, readProbeAnswer, type Reachable } from "@p2p/shared";

export interface ProbeOutcome {
  reachable: Reachable;
  /** In words, for the peer's user. */
  reason: string;
}

/** How long to wait for a closed probe socket to finish closing before its slot is given on. */
const CLOSE_WAIT_MS = 1000;

export async function probe(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  const nonce = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
  let socket: Socket | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ProbeOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ reachable: false, reason: `no answer within ${timeoutMs / 1000} s` }), timeoutMs);
  });
  const exchange = async (): Promise<ProbeOutcome> => {
    try {
      // IPv6 literals must be bracketed for connect().
      socket = connect({ hostname: host.includes(":") ? `[${host}]` : host, port });
      await socket.opened;
    } catch {
      return { reachable: false, reason: "the connection was refused or could not be made" };
    }
    const writer = socket.writable.getWriter();
    await writer.write(new TextEncoder().encode(probeLine(nonce)));
    const line = await firstLine(socket.readable);
    if (line === null) return { reachable: false, reason: "something accepted the connection but sent no answer" };
    switch (readProbeAnswer(line, nonce)) {
      case "answered":
        return { reachable: true, reason: "the mini-server answered" };
      case "busy":
        return { reachable: null, reason: "the mini-server was too busy to answer; it will be checked on the next connection" };
      case "old-peer":
        return { reachable: null, reason: "a mini-server answered but could not take the probe (a p2p-peer from before probes)" };
      case "other":
        return { reachable: false, reason: "something else answered on that port, not this peer's mini-server" };
    }
  };
  try {
    return await Promise.race([exchange().catch(() => ({ reachable: false, reason: "the connection failed" })), deadline]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    // Closed, answered or not, before the slot is given to the next probe (the platform allows 6
    // connections); bounded, so a close that never completes cannot hold the slot for good.
    if (socket) await closeWithin(socket, CLOSE_WAIT_MS);
  }
}

/** A pending timer keeps the object awake, so the wait's timer goes as soon as the close is done. */
async function closeWithin(socket: Socket, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([socket.close().catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  if (timer !== undefined) clearTimeout(timer);
}

/** The first line of the stream without its newline, or null if it ends (or grows too long) first. */
async function firstLine(readable: ReadableStream<Uint8Array>): Promise<string | null> {
  const reader = readable.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return null;
    text += decoder.decode(value, { stream: true });
    const end = text.indexOf("\n");
    if (end >= 0) return text.slice(0, end);
    if (text.length > MAX_TRANSFER_HEADER_BYTES) return null;
  }
}
