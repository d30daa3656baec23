/**
 * What the port mapper needs from a home router, whichever protocol it
 * speaks (UPnP IGD in upnp-igd.ts, NAT-PMP in nat-pmp.ts): its public
 * address, and a TCP mapping from a public port to this machine's port that
 * can be renewed and removed.
 */
export interface MappingRequest {
  internalPort: number;
  /** The public port asked for; the router may give another (NAT-PMP) or refuse it (UPnP). */
  externalPort: number;
  /** 0: until removed (some UPnP routers allow nothing else). */
  leaseSeconds: number;
}

export interface Mapping {
  internalPort: number;
  externalPort: number;
  /** What the router granted; 0 means until removed. */
  leaseSeconds: number;
}

export interface Gateway {
  readonly protocol: "UPnP" | "NAT-PMP";
  /** The router's address, for messages. */
  readonly address: string;
  externalAddress(signal: AbortSignal): Promise<string>;
  /** Adds the mapping, or renews it when asked again for the same ports. */
  map(request: MappingRequest, signal: AbortSignal): Promise<Mapping>;
  unmap(mapping: Mapping, signal: AbortSignal): Promise<void>;
  /** Frees what the client holds (a UDP socket); mappings are left as they are. */
  close(): void;
}

/** A router's refusal or silence, in words a user can act on. */
export class GatewayError extends Error {
  /** Another public port might work (the one asked for is taken). */
  readonly portTaken: boolean;
  /** The router grants only mappings without a lease. */
  readonly permanentOnly: boolean;
  constructor(message: string, flags: { portTaken?: boolean; permanentOnly?: boolean } = {}) {
    super(message);
    this.name = "GatewayError";
    this.portTaken = flags.portTaken ?? false;
    this.permanentOnly = flags.permanentOnly ?? false;
  }
}
