/**
 * Two facts about this machine's network that port mapping needs: which of
 * its addresses faces the router (the mapping's target), and, for NAT-PMP,
 * where the router is (the default gateway, read from Linux's routing table).
 */
import dgram from "node:dgram";
import { readFile } from "node:fs/promises";

/** The local address the system would use to reach `host`; a connected UDP socket sends nothing. */
export async function localAddressTowards(host: string, port: number): Promise<string> {
  const socket = dgram.createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.connect(port, host, () => resolve());
    });
    return socket.address().address;
  } finally {
    socket.close();
  }
}

/** The IPv4 default gateway, where the system says; undefined where it cannot tell (not Linux). */
export async function defaultGateway(): Promise<string | undefined> {
  let table: string;
  try {
    table = await readFile("/proc/net/route", "utf8");
  } catch {
    return undefined;
  }
  for (const line of table.split("\n").slice(1)) {
    const [, destination, gateway, flags] = line.trim().split(/\s+/);
    // RTF_GATEWAY (0x2) on the route to 0.0.0.0; addresses are little-endian hex.
    if (destination !== "00000000" || !gateway || !(Number.parseInt(flags ?? "0", 16) & 0x2)) continue;
    const n = Number.parseInt(gateway, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join(".");
  }
  return undefined;
}
