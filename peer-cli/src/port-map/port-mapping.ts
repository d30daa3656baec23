/**
 * `p2p-peer start --port-map`: asks the home router to forward a public TCP
 * port to the mini-server, first with UPnP IGD (found with SSDP), then with
 * NAT-PMP (sent to the default gateway); keeps the mapping alive by renewing
 * it at half its lease; removes it on stop. Whoever calls mapPort owns the
 * mapping and must call stop().
 */
import { EXIT, PeerError, errorMessage } from "../errors.ts";
import type { Gateway, Mapping } from "./gateway.ts";
import { GatewayError } from "./gateway.ts";
import { NAT_PMP_PORT, NatPmpGateway } from "./nat-pmp.ts";
import { defaultGateway } from "./network.ts";
import { discoverGateway, SSDP_MULTICAST, type SsdpTarget } from "./ssdp.ts";
import { openIgd } from "./upnp-igd.ts";

export interface PortMapTargets {
  /** Where to send the SSDP search; null: do not try UPnP. */
  ssdp: SsdpTarget | null;
  /** The NAT-PMP server; "default-gateway" asks the system; null: do not try NAT-PMP. */
  natPmp: { host: string; port: number } | "default-gateway" | null;
}

/** On a real network: the LAN's multicast group and the default gateway. */
export const LAN_TARGETS: PortMapTargets = { ssdp: SSDP_MULTICAST, natPmp: "default-gateway" };

export interface PortMapOptions {
  internalPort: number;
  targets: PortMapTargets;
  log: (line: string) => void;
  /** Asked of the router; renewed at half of what it grants. Default one hour. */
  leaseSeconds?: number;
  /** How long to wait for a router to answer the SSDP search. Default 2 s. */
  discoverMs?: number;
  /** How long one request to the router may take. Default 5 s. */
  requestMs?: number;
}

export interface PortMapping {
  protocol: Gateway["protocol"];
  /** The router's address. */
  gateway: string;
  /** The router's public address and the port it forwards here. */
  externalHost: string;
  externalPort: number;
  internalPort: number;
  /** 0: the mapping lasts until removed. */
  leaseSeconds: number;
  /** Removes the mapping (bounded by a short wait on the router); safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULTS = { leaseSeconds: 3600, discoverMs: 2000, requestMs: 5000 };
/** Tries of other public ports when the one asked for is taken. */
const OTHER_PORT_TRIES = 2;
/** After a failed renewal, try again this much sooner than the lease ends. */
const RETRY_AFTER_MS = 60_000;

/** Maps the port or fails with one message naming what each protocol said (PeerError "port-map-failed", exit 1). */
export async function mapPort(options: PortMapOptions): Promise<PortMapping> {
  const settings = { ...DEFAULTS, ...options };
  const failures: string[] = [];
  for (const open of [openUpnp, openNatPmp]) {
    let gateway: Gateway | undefined;
    try {
      gateway = await open(settings);
      if (!gateway) continue;
      const mapped = await addMapping(gateway, settings);
      const externalHost = await gateway.externalAddress(AbortSignal.timeout(settings.requestMs)).catch(async (error: unknown) => {
        // Useless without the public address: leave nothing behind on the router.
        await gateway?.unmap(mapped, AbortSignal.timeout(settings.requestMs)).catch(() => {});
        throw error;
      });
      return keepAlive(gateway, mapped, externalHost, settings);
    } catch (error) {
      gateway?.close();
      failures.push(errorMessage(error));
    }
  }
  const tried = [options.targets.ssdp && "UPnP", options.targets.natPmp && "NAT-PMP"].filter(Boolean).join(" and ");
  throw new PeerError(
    "port-map-failed",
    `could not map a port on the router (tried ${tried}): ${failures.join("; ") || "no router answered"}. ` +
      `Turn on UPnP or NAT-PMP in the router's settings, or forward TCP port ${options.internalPort} to this machine by hand`,
    EXIT.failed,
  );
}

type Settings = PortMapOptions & typeof DEFAULTS;

async function openUpnp(settings: Settings): Promise<Gateway | undefined> {
  const { ssdp } = settings.targets;
  if (!ssdp) return undefined;
  const description = await discoverGateway(ssdp, settings.discoverMs);
  if (!description) throw new GatewayError(`UPnP: no router answered the search within ${settings.discoverMs / 1000} s`);
  return openIgd(description, AbortSignal.timeout(settings.requestMs));
}

async function openNatPmp(settings: Settings): Promise<Gateway | undefined> {
  const { natPmp } = settings.targets;
  if (!natPmp) return undefined;
  const target = natPmp === "default-gateway" ? { host: await defaultGateway(), port: NAT_PMP_PORT } : natPmp;
  if (!target.host) throw new GatewayError("NAT-PMP: this system does not say where its default gateway is");
  return new NatPmpGateway(target.host, target.port);
}

/** The mini-server's own port if the router has it free, else another; a lease if the router allows one. */
async function addMapping(gateway: Gateway, settings: Settings): Promise<Mapping> {
  const ports = [settings.internalPort, ...Array.from({ length: OTHER_PORT_TRIES }, () => 20_000 + Math.floor(Math.random() * 40_000))];
  let leaseSeconds = settings.leaseSeconds;
  for (let i = 0; ; ) {
    const externalPort = ports[i]!;
    try {
      return await gateway.map({ internalPort: settings.internalPort, externalPort, leaseSeconds }, AbortSignal.timeout(settings.requestMs));
    } catch (error) {
      if (error instanceof GatewayError && error.permanentOnly && leaseSeconds !== 0) {
        leaseSeconds = 0;
        continue;
      }
      if (error instanceof GatewayError && error.portTaken && i + 1 < ports.length) {
        i++;
        continue;
      }
      throw error;
    }
  }
}

function keepAlive(gateway: Gateway, first: Mapping, externalHost: string, settings: Settings): PortMapping {
  const { log } = settings;
  let mapping = first;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (inMs: number) => {
    if (stopped || mapping.leaseSeconds === 0) return;
    timer = setTimeout(() => void renew(), inMs);
    timer.unref();
  };
  const renew = async () => {
    try {
      const renewed = await gateway.map({ internalPort: mapping.internalPort, externalPort: mapping.externalPort, leaseSeconds: settings.leaseSeconds }, AbortSignal.timeout(settings.requestMs));
      if (stopped) return;
      if (renewed.externalPort !== mapping.externalPort) log(`port mapping: the router moved the public port from ${mapping.externalPort} to ${renewed.externalPort}; restart the peer to advertise it`);
      mapping = renewed;
      schedule((mapping.leaseSeconds * 1000) / 2);
    } catch (error) {
      if (stopped) return;
      log(`port mapping: renewing failed (${errorMessage(error)}); trying again`);
      schedule(Math.max(1000, Math.min(RETRY_AFTER_MS, (mapping.leaseSeconds * 1000) / 4)));
    }
  };
  schedule((mapping.leaseSeconds * 1000) / 2);

  let stopping: Promise<void> | undefined;
  return {
    protocol: gateway.protocol,
    gateway: gateway.address,
    externalHost,
    get externalPort() {
      return mapping.externalPort;
    },
    internalPort: mapping.internalPort,
    get leaseSeconds() {
      return mapping.leaseSeconds;
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        clearTimeout(timer);
        try {
          await gateway.unmap(mapping, AbortSignal.timeout(Math.min(settings.requestMs, 2000)));
          log(`port mapping: removed public port ${mapping.externalPort} from the router at ${gateway.address}`);
        } catch (error) {
          log(`port mapping: could not remove public port ${mapping.externalPort} from the router (${errorMessage(error)}); it lapses by itself${mapping.leaseSeconds > 0 ? ` within ${mapping.leaseSeconds} s` : " only when removed in the router's settings"}`);
        } finally {
          gateway.close();
        }
      })();
      return stopping;
    },
  };
}
