/**
 * What `hello` tells the tracker about where this peer can be reached: the
 * mini-server's port and `--host`, or, with `--port-map`, the port the router
 * forwards and the router's public address. A router that will not map is
 * said plainly and the peer runs without it, unless the user required it.
 */
import { errorMessage } from "../errors.ts";
import { mapPort, type PortMapTargets, type PortMapping } from "../port-map/port-mapping.ts";

export interface PortMapRequest {
  /** Stop the peer (exit 1) when no mapping can be made, rather than run without it. */
  required: boolean;
  targets: PortMapTargets;
  leaseSeconds?: number;
}

export interface Advertised {
  port: number;
  host?: string;
  /** The live mapping, to stop with the peer. */
  mapping: PortMapping | null;
  /** Why asking for one failed, for `status`. */
  mapError: string | null;
}

export async function advertisedAddress(
  miniServerPort: number,
  host: string | undefined,
  portMap: PortMapRequest | undefined,
  log: (line: string) => void,
): Promise<Advertised> {
  const plain = { port: miniServerPort, ...(host !== undefined ? { host } : {}), mapping: null, mapError: null };
  if (!portMap) return plain;
  let mapping: PortMapping;
  try {
    mapping = await mapPort({ internalPort: miniServerPort, targets: portMap.targets, log, ...(portMap.leaseSeconds ? { leaseSeconds: portMap.leaseSeconds } : {}) });
  } catch (error) {
    if (portMap.required) throw error;
    log(`port mapping failed: ${errorMessage(error)}. The peer runs without it: others can reach it only if the port is forwarded some other way`);
    return { ...plain, mapError: errorMessage(error) };
  }
  const lease = mapping.leaseSeconds > 0 ? `leased for ${mapping.leaseSeconds} s and renewed` : "permanent";
  log(
    `port mapping: the router at ${mapping.gateway} (${mapping.protocol}) forwards public port ${mapping.externalPort} at ${mapping.externalHost} ` +
      `to this mini-server's port ${miniServerPort} (${lease}; removed on stop)`,
  );
  const behindAnother = isPrivateIPv4(mapping.externalHost);
  if (behindAnother) {
    log(
      `port mapping: the router's own public address, ${mapping.externalHost}, is a private one: another NAT sits in front of it ` +
        `(carrier-grade NAT, or a second router), so this mapping alone does not make the peer reachable`,
    );
  }
  // The tracker still connects to the address it sees; the public address is advertised as --host would be.
  const advertisedHost = host ?? (behindAnother ? undefined : mapping.externalHost);
  return { port: mapping.externalPort, ...(advertisedHost !== undefined ? { host: advertisedHost } : {}), mapping, mapError: null };
}

/** RFC 1918 and the carrier-grade NAT range (RFC 6598). */
function isPrivateIPv4(address: string): boolean {
  const [a = -1, b = -1] = address.split(".").map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
}
