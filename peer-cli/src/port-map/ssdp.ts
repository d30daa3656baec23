/**
 * Finds UPnP Internet Gateway Devices with SSDP: one M-SEARCH datagram (to
 * the multicast group on the LAN, or to the address given, which is how the
 * tests reach a fake router on loopback), then the LOCATION of each device
 * description that answers within the wait.
 */
import dgram from "node:dgram";

export interface SsdpTarget {
  host: string;
  port: number;
}

/** Where routers listen for searches on a LAN. */
export const SSDP_MULTICAST: SsdpTarget = { host: "239.255.255.250", port: 1900 };

const SEARCH_TARGETS = ["urn:schemas-upnp-org:device:InternetGatewayDevice:1", "urn:schemas-upnp-org:device:InternetGatewayDevice:2"];

function searchMessage(st: string, target: SsdpTarget): Buffer {
  return Buffer.from(
    [`M-SEARCH * HTTP/1.1`, `HOST: ${target.host}:${target.port}`, `MAN: "ssdp:discover"`, `MX: 1`, `ST: ${st}`, "", ""].join("\r\n"),
  );
}

/**
 * The description URL of the first gateway to answer within `waitMs`, if
 * any. A LOCATION is taken only if it is plain HTTP on the address the
 * answer came from: another device on the LAN cannot send the peer to fetch
 * from somewhere else.
 */
export async function discoverGateway(target: SsdpTarget, waitMs: number): Promise<URL | undefined> {
  const socket = dgram.createSocket({ type: "udp4" });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<URL | undefined>((resolve, reject) => {
      socket.on("message", (message, remote) => {
        const url = locationOf(message.toString("latin1"), remote.address);
        if (url) resolve(url);
      });
      socket.once("error", reject);
      socket.bind(0, () => {
        // From here a failed send (no route, nothing listening) only means no answer.
        socket.off("error", reject);
        socket.on("error", () => {});
        for (const st of SEARCH_TARGETS) socket.send(searchMessage(st, target), target.port, target.host);
        timer = setTimeout(() => resolve(undefined), waitMs);
      });
    });
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}

function locationOf(response: string, from: string): URL | undefined {
  const location = header(response, "location");
  if (location === undefined) return undefined;
  try {
    const url = new URL(location);
    return url.protocol === "http:" && url.hostname === from ? url : undefined;
  } catch {
    return undefined;
  }
}

function header(response: string, name: string): string | undefined {
  if (!/^HTTP\/1\.[01] 200\b/.test(response) && !/^NOTIFY\b/.test(response)) return undefined;
  for (const line of response.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return undefined;
}
