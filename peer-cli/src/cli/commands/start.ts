import { USER_NAME_PATTERN } from "@p2p/shared";
import { defineCommand } from "citty";
import { EXIT } from "../../errors.ts";
import { resolveHome } from "../../peer/home.ts";
import { startPeer } from "../../peer/start-peer.ts";
import { LAN_TARGETS, type PortMapTargets } from "../../port-map/port-mapping.ts";
import { isValidToken } from "../../tracker/access-token.ts";
import { advertisedHost, unbracket } from "../address-args.ts";
import { usage } from "../env.ts";
import { runPrompt } from "../prompt.ts";

export const DEFAULT_TRACKER = "ws://127.0.0.1:8787/ws";

/** Exit status after a second Ctrl-C, as shells report a SIGINT. */
const EXIT_INTERRUPTED = 130;

export default defineCommand({
  meta: { name: "start", description: "Run a peer in the foreground: mini-server, tracker connection, user map and control socket" },
  args: {
    tracker: { type: "string", description: `Tracker WebSocket URL (default: $P2P_TRACKER or ${DEFAULT_TRACKER})`, valueHint: "url" },
    port: { type: "string", description: "Mini-server port; 0 picks a free one", default: "0", valueHint: "port" },
    bind: { type: "string", description: "Address the mini-server listens on (default: every address, IPv6 and IPv4)", valueHint: "addr" },
    host: { type: "string", description: "Address other peers should use to reach this one, a name or an IP (default: as the tracker sees it)", valueHint: "host" },
    "port-map": { type: "boolean", description: "Ask the home router (UPnP or NAT-PMP) to forward a public port to the mini-server; renewed while running, removed on stop" },
    "require-port-map": { type: "boolean", description: "Like --port-map, but stop (exit 1) when the router will not map the port" },
    user: { type: "string", description: "Claim this user name at once (otherwise the first register names the peer)", valueHint: "name" },
    fresh: { type: "boolean", description: "Start empty instead of offering again what this home offered last time" },
    token: { type: "string", description: "The tracker's access token, if it needs one (default: $P2P_TOKEN, which other users cannot see in ps)", valueHint: "token" },
    home: { type: "string", description: "The peer's home folder (default: $P2P_PEER_HOME or ~/.p2p-peer)", valueHint: "dir" },
    refresh: { type: "string", description: "Seconds between the user map's safety checks (it follows the tracker's changes within a second)", default: "30", valueHint: "s" },
  },
  async run({ args }) {
    const port = Number(args.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw usage(`--port must be 0–65535, got ${args.port}`);
    const refresh = Number(args.refresh);
    if (!Number.isFinite(refresh) || refresh < 0.1 || refresh > 86_400) throw usage(`--refresh must be 0.1–86400 seconds, got ${args.refresh}`);
    if (args.user !== undefined && !USER_NAME_PATTERN.test(args.user)) {
      throw usage(`invalid --user ${JSON.stringify(args.user)}: use 1–64 characters from A–Z, a–z, 0–9, ".", "_" and "-"`);
    }
    const token = args.token ?? (process.env.P2P_TOKEN || undefined);
    if (token !== undefined && !isValidToken(token)) {
      throw usage(`the access token must be 1–4096 visible ASCII characters without spaces (${args.token === undefined ? "$P2P_TOKEN" : "--token"})`);
    }
    const host = args.host === undefined ? undefined : advertisedHost(args.host);
    const home = resolveHome(args.home);
    const log = (line: string) => process.stderr.write(`[p2p-peer] ${line}\n`);
    const running = await startPeer({
      home,
      tracker: args.tracker ?? process.env.P2P_TRACKER ?? DEFAULT_TRACKER,
      ...(token !== undefined ? { token } : {}),
      port,
      ...(args.bind !== undefined ? { bind: unbracket(args.bind) } : {}),
      ...(host !== undefined ? { host } : {}),
      ...(args["port-map"] || args["require-port-map"] ? { portMap: { required: args["require-port-map"] === true, ...portMapTargets() } } : {}),
      ...(args.user ? { user: args.user } : {}),
      ...(args.fresh ? { fresh: true } : {}),
      refreshSeconds: refresh,
      log,
      ...testSwitches(),
    });
    log(`ready: home ${home.dir}, mini-server port ${running.peer.miniServerPort}, users in ${home.usersFile}`);

    let stopping = false;
    const stop = async () => {
      if (stopping) {
        // A second Ctrl-C: whatever is still closing, leave now.
        log("stopping at once");
        process.exit(EXIT_INTERRUPTED);
      }
      stopping = true;
      log("stopping (Ctrl-C again to leave at once)");
      await running.stop();
      process.exit(EXIT.ok);
    };
    process.on("SIGINT", () => void stop());
    process.on("SIGTERM", () => void stop());
    if (process.stdin.isTTY) await runPrompt(running.peer, stop);
    else await new Promise(() => {});
  },
});

/**
 * Where --port-map looks for the router: the LAN (SSDP multicast, the
 * default gateway), or, in tests, fakes on loopback given by
 * P2P_TEST_SSDP and P2P_TEST_NAT_PMP (host:port). Once either is set, the
 * other protocol is off unless set too, so a test never reaches a real router.
 */
function portMapTargets(): { targets: PortMapTargets; leaseSeconds?: number } {
  const ssdp = process.env.P2P_TEST_SSDP;
  const natPmp = process.env.P2P_TEST_NAT_PMP;
  const lease = Number(process.env.P2P_TEST_PORT_MAP_LEASE_S);
  const leaseSeconds = Number.isInteger(lease) && lease > 0 ? { leaseSeconds: lease } : {};
  if (!ssdp && !natPmp) return { targets: LAN_TARGETS, ...leaseSeconds };
  const hostPort = (value: string | undefined) => {
    const match = value ? /^(.+):(\d+)$/.exec(value) : null;
    return match ? { host: match[1]!, port: Number(match[2]) } : null;
  };
  return { targets: { ssdp: hostPort(ssdp), natPmp: hostPort(natPmp) }, ...leaseSeconds };
}

/**
 * Test and benchmark switches, never set in normal use: P2P_TEST_THROTTLE_BPS
 * caps upload speed so transfers can be interrupted; P2P_TEST_CORRUPT_RANGES
 * makes this peer serve corrupted pieces, to prove downloaders notice;
 * P2P_TEST_PING_MS pings the tracker more often, to detect a dead one sooner.
 */
function testSwitches(): { throttleBytesPerSecond?: number; corruptRanges?: boolean; pingIntervalMs?: number } {
  const rate = Number(process.env.P2P_TEST_THROTTLE_BPS);
  const ping = Number(process.env.P2P_TEST_PING_MS);
  return {
    ...(Number.isFinite(ping) && ping > 0 ? { pingIntervalMs: ping } : {}),
    ...(Number.isFinite(rate) && rate > 0 ? { throttleBytesPerSecond: rate } : {}),
    ...(process.env.P2P_TEST_CORRUPT_RANGES === "1" ? { corruptRanges: true } : {}),
  };
}
