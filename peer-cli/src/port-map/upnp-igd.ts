/**
 * A UPnP Internet Gateway Device (IGD v1 or v2) as a Gateway: its device
 * description names the WAN connection service and where to send it SOAP
 * actions; three actions are used: GetExternalIPAddress, AddPortMapping and
 * DeletePortMapping. Routers' XML is read with a few bounded patterns, since
 * only a handful of plain elements matter.
 */
import type { Gateway, Mapping, MappingRequest } from "./gateway.ts";
import { GatewayError } from "./gateway.ts";
import { localAddressTowards } from "./network.ts";

/** The WAN connection services that take port mappings, the newest first. */
const SERVICE_TYPES = [
  "urn:schemas-upnp-org:service:WANIPConnection:2",
  "urn:schemas-upnp-org:service:WANIPConnection:1",
  "urn:schemas-upnp-org:service:WANPPPConnection:1",
];

/** Descriptions and answers larger than this are not a router's. */
const MAX_XML_BYTES = 256 * 1024;

/** Codes from the UPnP IGD specification, with what they mean for the user. */
const UPNP_ERRORS: Record<number, string> = {
  402: "invalid arguments",
  501: "the action failed",
  606: "not authorised (the router may allow port mapping only from its settings page)",
  714: "no such mapping",
  715: "wildcards are not allowed for the remote host",
  716: "wildcards are not allowed for the external port",
  718: "the public port is already mapped to another machine",
  724: "the router requires the public and internal ports to be the same",
  725: "the router allows only permanent mappings",
  728: "the router's mapping table is full",
  729: "the router does not allow this port",
};

export interface IgdService {
  type: string;
  controlUrl: URL;
  /** This machine's address towards the router: where the mapping points. */
  internalClient: string;
}

/** Fetches a description and finds the service to talk to. */
export async function openIgd(description: URL, signal: AbortSignal): Promise<UpnpGateway> {
  const xml = await fetchXml(description, { signal });
  const base = textOf(xml, "URLBase");
  const services = blocks(xml, "service").map((block) => ({ type: textOf(block, "serviceType"), control: textOf(block, "controlURL") }));
  for (const type of SERVICE_TYPES) {
    const service = services.find((s) => s.type === type && s.control);
    if (service?.control) {
      const controlUrl = new URL(service.control, base ? new URL(base) : description);
      // The control URL must stay on the router that described itself.
      if (controlUrl.host !== description.host) throw new GatewayError(`the router at ${description.host} points its control URL elsewhere (${controlUrl.host})`);
      const internalClient = await localAddressTowards(controlUrl.hostname, Number(controlUrl.port || 80));
      return new UpnpGateway({ type, controlUrl, internalClient });
    }
  }
  throw new GatewayError(`the UPnP device at ${description.host} offers no WAN connection service that maps ports`);
}

export class UpnpGateway implements Gateway {
  readonly protocol = "UPnP" as const;
  readonly address: string;
  readonly #service: IgdService;

  constructor(service: IgdService) {
    this.#service = service;
    this.address = service.controlUrl.hostname;
  }

  async externalAddress(signal: AbortSignal): Promise<string> {
    const answer = await this.#action("GetExternalIPAddress", [], signal);
    const address = textOf(answer, "NewExternalIPAddress");
    if (!address) throw new GatewayError(`the router at ${this.address} does not know its public address (is it connected?)`);
    return address;
  }

  async map(request: MappingRequest, signal: AbortSignal): Promise<Mapping> {
    await this.#action(
      "AddPortMapping",
      [
        ["NewRemoteHost", ""],
        ["NewExternalPort", String(request.externalPort)],
        ["NewProtocol", "TCP"],
        ["NewInternalPort", String(request.internalPort)],
        ["NewInternalClient", this.#service.internalClient],
        ["NewEnabled", "1"],
        ["NewPortMappingDescription", "p2p-peer"],
        ["NewLeaseDuration", String(request.leaseSeconds)],
      ],
      signal,
    );
    return { internalPort: request.internalPort, externalPort: request.externalPort, leaseSeconds: request.leaseSeconds };
  }

  async unmap(mapping: Mapping, signal: AbortSignal): Promise<void> {
    await this.#action(
      "DeletePortMapping",
      [
        ["NewRemoteHost", ""],
        ["NewExternalPort", String(mapping.externalPort)],
        ["NewProtocol", "TCP"],
      ],
      signal,
    );
  }

  close(): void {}

  async #action(action: string, args: [string, string][], signal: AbortSignal): Promise<string> {
    const { type, controlUrl } = this.#service;
    const body =
      `<?xml version="1.0"?>\r\n` +
      `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">` +
      `<s:Body><u:${action} xmlns:u="${type}">` +
      args.map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`).join("") +
      `</u:${action}></s:Body></s:Envelope>`;
    return fetchXml(controlUrl, {
      method: "POST",
      headers: { "Content-Type": 'text/xml; charset="utf-8"', SOAPAction: `"${type}#${action}"` },
      body,
      signal,
      action,
    });
  }
}

async function fetchXml(url: URL, init: { method?: string; headers?: Record<string, string>; body?: string; signal: AbortSignal; action?: string }): Promise<string> {
  const what = init.action ? `${init.action} at ${url.host}` : `the device description at ${url.href}`;
  let response: Response;
  try {
    response = await fetch(url, { method: init.method ?? "GET", ...(init.headers ? { headers: init.headers } : {}), ...(init.body ? { body: init.body } : {}), signal: init.signal, redirect: "error" });
  } catch (error) {
    throw new GatewayError(init.signal.aborted ? `${what}: the router did not answer in time` : `${what}: ${(error as Error).message}`);
  }
  const text = await readCapped(response, what);
  if (response.ok) return text;
  const code = Number(textOf(text, "errorCode"));
  if (Number.isInteger(code) && code > 0) {
    const meaning = UPNP_ERRORS[code] ?? (textOf(text, "errorDescription") || "refused").slice(0, 200);
    throw new GatewayError(`the router refused ${init.action ?? "the request"}: ${meaning} (UPnP error ${code})`, {
      portTaken: code === 718,
      permanentOnly: code === 725,
    });
  }
  throw new GatewayError(`${what}: HTTP ${response.status}`);
}

async function readCapped(response: Response, what: string): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (declared > MAX_XML_BYTES) throw new GatewayError(`${what}: the answer is too large to be a router's`);
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_XML_BYTES) {
      await reader.cancel();
      throw new GatewayError(`${what}: the answer is too large to be a router's`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** The bodies of every `<name>…</name>` element (any namespace prefix), not nested in one another. */
function blocks(xml: string, name: string): string[] {
  const pattern = new RegExp(`<(?:[\\w.-]+:)?${name}(?:\\s[^>]*)?>([\\s\\S]*?)</(?:[\\w.-]+:)?${name}>`, "g");
  return [...xml.matchAll(pattern)].map((m) => m[1] ?? "");
}

/** The text of the first `<name>` element, entities decoded; "" if there is none. */
function textOf(xml: string, name: string): string {
  const body = blocks(xml, name)[0];
  return body === undefined ? "" : unescapeXml(body.trim());
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, "&");
}
