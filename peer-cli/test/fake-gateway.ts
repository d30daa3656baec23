/**
 * A home router on loopback for the port-mapping tests: an SSDP responder
 * (UDP), a UPnP IGD (device description and WANIPConnection SOAP actions
 * over HTTP) and a NAT-PMP server (UDP), each on 127.0.0.1 with a port of
 * its own. It keeps the mappings it was asked for and every action, and can
 * be told to refuse. Nothing here ever sends to another address.
 */
import dgram from "node:dgram";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeRouterOptions {
  /** What the router says its public address is (only ever sent as data). */
  externalAddress?: string;
  /** Answer AddPortMapping with this UPnP error, for these public ports (all when absent). */
  refuse?: { code: number; description: string; ports?: number[] };
  /** Answer 725 (OnlyPermanentLeasesSupported) to any lease but 0. */
  permanentOnly?: boolean;
  /** Answer NAT-PMP mapping requests with this result code. */
  natPmpResult?: number;
  /** The LOCATION the SSDP answer gives; by default the fake's own description. */
  location?: string;
}

export interface UpnpCall {
  action: string;
  args: Record<string, string>;
}

export interface RouterMapping {
  protocol: "UPnP" | "NAT-PMP";
  internalClient: string;
  internalPort: number;
  lease: number;
}

export interface FakeRouter {
  ssdp: { host: string; port: number };
  natPmp: { host: string; port: number };
  /** Every SOAP action, in order. */
  calls: UpnpCall[];
  /** Live mappings by public port. */
  mappings: Map<number, RouterMapping>;
  /** NAT-PMP requests seen, as [opcode, internal port, public port, lifetime]. */
  natPmpRequests: number[][];
  close(): Promise<void>;
}

const HOST = "127.0.0.1";
const SERVICE = "urn:schemas-upnp-org:service:WANIPConnection:1";

function description(): string {
  // Nested as real routers nest it: IGD → WANDevice → WANConnectionDevice → the service.
  return `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <device>
    <deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
    <friendlyName>Fake router</friendlyName>
    <serviceList>
      <service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F</controlURL></service>
    </serviceList>
    <deviceList><device>
      <deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
      <deviceList><device>
        <deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
        <serviceList>
          <service>
            <serviceType>${SERVICE}</serviceType>
            <serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
            <controlURL>/ctl/IPConn</controlURL>
            <eventSubURL>/evt/IPConn</eventSubURL>
            <SCPDURL>/WANIPCn.xml</SCPDURL>
          </service>
        </serviceList>
      </device></deviceList>
    </device></deviceList>
  </device>
</root>`;
}

const envelope = (body: string) =>
  `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>${body}</s:Body></s:Envelope>`;

const fault = (code: number, text: string) =>
  envelope(
    `<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>${code}</errorCode><errorDescription>${text}</errorDescription></UPnPError></detail></s:Fault>`,
  );

export async function startFakeRouter(options: FakeRouterOptions = {}): Promise<FakeRouter> {
  const externalAddress = options.externalAddress ?? "198.51.100.7";
  const calls: UpnpCall[] = [];
  const mappings = new Map<number, RouterMapping>();
  const natPmpRequests: number[][] = [];

  const soap = (action: string, args: Record<string, string>): { status: number; body: string } => {
    const ok = (inner = "") => ({ status: 200, body: envelope(`<u:${action}Response xmlns:u="${SERVICE}">${inner}</u:${action}Response>`) });
    switch (action) {
      case "GetExternalIPAddress":
        return ok(`<NewExternalIPAddress>${externalAddress}</NewExternalIPAddress>`);
      case "AddPortMapping": {
        const external = Number(args.NewExternalPort);
        const { refuse } = options;
        if (refuse && (!refuse.ports || refuse.ports.includes(external))) return { status: 500, body: fault(refuse.code, refuse.description) };
        if (options.permanentOnly && args.NewLeaseDuration !== "0") return { status: 500, body: fault(725, "OnlyPermanentLeasesSupported") };
        if (args.NewProtocol !== "TCP") return { status: 500, body: fault(402, "Invalid Args") };
        mappings.set(external, { protocol: "UPnP", internalClient: args.NewInternalClient ?? "", internalPort: Number(args.NewInternalPort), lease: Number(args.NewLeaseDuration) });
        return ok();
      }
      case "DeletePortMapping": {
        const external = Number(args.NewExternalPort);
        if (args.NewProtocol !== "TCP") return { status: 500, body: fault(402, "Invalid Args") };
        if (!mappings.delete(external)) return { status: 500, body: fault(714, "NoSuchEntryInArray") };
        return ok();
      }
      default:
        return { status: 500, body: fault(401, "Invalid Action") };
    }
  };

  let httpPort = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      res.setHeader("Content-Type", 'text/xml; charset="utf-8"');
      if (req.method === "GET" && req.url === "/rootDesc.xml") {
        res.end(description());
        return;
      }
      if (req.method === "POST" && req.url === "/ctl/IPConn") {
        const action = /#(\w+)"?$/.exec(String(req.headers.soapaction ?? ""))?.[1] ?? "";
        const args = Object.fromEntries([...text.matchAll(/<(New\w+)>([^<]*)<\/\1>/g)].map((m) => [m[1]!, m[2]!]));
        calls.push({ action, args });
        const { status, body } = soap(action, args);
        res.statusCode = status;
        res.end(body);
        return;
      }
      res.statusCode = 404;
      res.end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, HOST, resolve));
  httpPort = (http.address() as AddressInfo).port;

  const ssdp = dgram.createSocket("udp4");
  ssdp.on("message", (message, remote) => {
    const text = message.toString("latin1");
    const st = /^ST:\s*(.+)$/im.exec(text)?.[1]?.trim();
    if (!text.startsWith("M-SEARCH") || !st?.includes("InternetGatewayDevice:1")) return;
    const location = options.location ?? `http://${HOST}:${httpPort}/rootDesc.xml`;
    const answer = ["HTTP/1.1 200 OK", "CACHE-CONTROL: max-age=120", `ST: ${st}`, `USN: uuid:fake-router::${st}`, `LOCATION: ${location}`, "", ""].join("\r\n");
    ssdp.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => ssdp.bind(0, HOST, resolve));

  const natPmp = dgram.createSocket("udp4");
  const epoch = Buffer.alloc(4);
  natPmp.on("message", (message, remote) => {
    const op = message[1] ?? 255;
    if (op === 0) {
      const answer = Buffer.concat([Buffer.from([0, 128, 0, 0]), epoch, Buffer.from(externalAddress.split(".").map(Number))]);
      natPmp.send(answer, remote.port, remote.address);
      return;
    }
    if (op !== 2 || message.length < 12) return;
    const internal = message.readUInt16BE(4);
    const requested = message.readUInt16BE(6);
    const lifetime = message.readUInt32BE(8);
    natPmpRequests.push([op, internal, requested, lifetime]);
    const answer = Buffer.alloc(16);
    answer[1] = 130;
    answer.writeUInt16BE(options.natPmpResult ?? 0, 2);
    answer.writeUInt16BE(internal, 8);
    if (!options.natPmpResult) {
      if (lifetime === 0) {
        for (const [port, mapping] of mappings) if (mapping.protocol === "NAT-PMP" && mapping.internalPort === internal) mappings.delete(port);
      } else {
        mappings.set(requested, { protocol: "NAT-PMP", internalClient: remote.address, internalPort: internal, lease: lifetime });
        answer.writeUInt16BE(requested, 10);
        answer.writeUInt32BE(lifetime, 12);
      }
    }
    natPmp.send(answer, remote.port, remote.address);
  });
  await new Promise<void>((resolve) => natPmp.bind(0, HOST, resolve));

  return {
    ssdp: { host: HOST, port: ssdp.address().port },
    natPmp: { host: HOST, port: natPmp.address().port },
    calls,
    mappings,
    natPmpRequests,
    async close() {
      ssdp.close();
      natPmp.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
