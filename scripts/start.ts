/**
 * `npm start`: a local tracker under `wrangler dev` on 127.0.0.1:8787
 * (`npm start -- --port N` for another), and what to run next.
 */
import { spawn } from "node:child_process";
import { WRANGLER, waitFor } from "./processes.ts";

const args = process.argv.slice(2);
const portIndex = args.indexOf("--port");
const port = portIndex >= 0 ? Number(args[portIndex + 1]) : 8787;
const rest = portIndex >= 0 ? args.filter((_, i) => i !== portIndex && i !== portIndex + 1) : args;

// TRACKER_SHARDS=4 npm start: a sharded tracker (SCALING.md); unset, the configured single object.
const shards = process.env.TRACKER_SHARDS ? ["--var", `TRACKER_SHARDS:${process.env.TRACKER_SHARDS}`] : [];
const child = spawn(process.execPath, [WRANGLER, "dev", "--ip", "127.0.0.1", "--port", String(port), ...shards, ...rest], {
  stdio: ["inherit", "pipe", "inherit"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
child.stdout.pipe(process.stdout);
child.on("exit", (code) => process.exit(code ?? 0));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));

await waitFor("the tracker", () => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false), 120_000);
const tracker = port === 8787 ? "" : ` --tracker ws://127.0.0.1:${port}/ws`;
process.stdout.write(`
  Tracker ready: ws://127.0.0.1:${port}/ws
  Live page:     http://127.0.0.1:${port}/   (who is online and what they offer, as it changes)

  Try it, each peer in its own terminal:
    npx p2p-peer start --home /tmp/alice --user Alice${tracker}
    npx p2p-peer start --home /tmp/bob --user Bob${tracker}
  then, from any shell:
    P2P_PEER_HOME=/tmp/alice npx p2p-peer register Alice ./README.md
    P2P_PEER_HOME=/tmp/bob npx p2p-peer list-files
    P2P_PEER_HOME=/tmp/bob npx p2p-peer download Alice "$PWD/README.md" /tmp/bob-files/README.md

  Or watch the whole scenario: npm run demo
  Ctrl-C stops the tracker.

`);
