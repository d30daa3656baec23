/**
 * NAT-PMP (RFC 6886) as a Gateway: small UDP requests to the router on port
 * 5351 (or wherever the tests put a fake one), each sent again with doubling
 * waits until answered. Answers are taken only from the router's own address
 * and port, and must match the request.
 */
import dgram from "node:dgram";
import type { Gateway, Mapping, MappingRequest } from "./gateway.ts";
import { GatewayError } from "./gateway.ts";

export const NAT_PMP_PORT = 5351;

const OP_EXTERNAL_ADDRESS = 0;
const OP_MAP_TCP = 2;
/** A response's opcode is the request's plus 128. */
const RESPONSE = 128;

const RESULTS: Record<number, string> = {
  1: "the router does not speak this NAT-PMP version",
  2: "not authorised or refused (NAT-PMP may be turned off in the router's settings)",
  3: "the router has no working internet connection",
  4: "the router has no mappings left",
  5: "the router does not support this request",
};

/** First wait for an answer; RFC 6886 doubles it on every try. */
const FIRST_WAIT_MS = 250;
const TRIES = 4;

export class NatPmpGateway implements Gateway {
  readonly protocol = "NAT-PMP" as const;
  readonly address: string;
  readonly #port: number;
  readonly #socket = dgram.createSocket({ type: "udp4" });
  /** One request at a time: answers carry no request id. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(address: string, port = NAT_PMP_PORT) {
    this.address = address;
    this.#port = port;
    this.#socket.on("error", () => {});
  }

  async externalAddress(signal: AbortSignal): Promise<string> {
    const answer = await this.#request(Buffer.from([0, OP_EXTERNAL_ADDRESS]), OP_EXTERNAL_ADDRESS, 12, signal);
    return [...answer.subarray(8, 12)].join(".");
  }

  async map(request: MappingRequest, signal: AbortSignal): Promise<Mapping> {
    const answer = await this.#request(mapPacket(request.internalPort, request.externalPort, request.leaseSeconds), OP_MAP_TCP, 16, signal);
    if (answer.readUInt16BE(8) !== request.internalPort) throw new GatewayError(`the router at ${this.address} answered for another port`);
    return { internalPort: request.internalPort, externalPort: answer.readUInt16BE(10), leaseSeconds: answer.readUInt32BE(12) };
  }

  async unmap(mapping: Mapping, signal: AbortSignal): Promise<void> {
    // Lifetime 0 and public port 0 remove the mapping (RFC 6886, 3.4).
    await this.#request(mapPacket(mapping.internalPort, 0, 0), OP_MAP_TCP, 16, signal);
  }

  close(): void {
    this.#socket.close();
  }

  #request(packet: Buffer, op: number, size: number, signal: AbortSignal): Promise<Buffer> {
    const run = this.#queue.catch(() => {}).then(() => this.#exchange(packet, op, size, signal));
    this.#queue = run;
    return run;
  }

  #exchange(packet: Buffer, op: number, size: number, signal: AbortSignal): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (error: Error | null, answer?: Buffer) => {
        clearTimeout(timer);
        this.#socket.off("message", onMessage);
        signal.removeEventListener("abort", onAbort);
        if (error) reject(error);
        else resolve(answer!);
      };
      const onMessage = (message: Buffer, remote: dgram.RemoteInfo) => {
        if (remote.address !== this.address || remote.port !== this.#port) return;
        if (message.length < 4 || message[0] !== 0 || message[1] !== op + RESPONSE) return;
        const result = message.readUInt16BE(2);
        if (result !== 0) {
          finish(new GatewayError(`the router refused the NAT-PMP request: ${RESULTS[result] ?? `result code ${result}`}`));
          return;
        }
        if (message.length < size) return;
        finish(null, message);
      };
      const onAbort = () => finish(new GatewayError(`no NAT-PMP answer from ${this.address}`));
      const send = (attempt: number) => {
        if (attempt >= TRIES) {
          onAbort();
          return;
        }
        this.#socket.send(packet, this.#port, this.address);
        timer = setTimeout(() => send(attempt + 1), FIRST_WAIT_MS * 2 ** attempt);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      this.#socket.on("message", onMessage);
      signal.addEventListener("abort", onAbort, { once: true });
      send(0);
    });
  }
}

function mapPacket(internalPort: number, externalPort: number, lifetime: number): Buffer {
  const packet = Buffer.alloc(12);
  packet[1] = OP_MAP_TCP;
  packet.writeUInt16BE(internalPort, 4);
  packet.writeUInt16BE(externalPort, 6);
  packet.writeUInt32BE(lifetime, 8);
  return packet;
}
