/**
 * Where the tracker's time goes: the rate of each request type alone, with
 * 100 peers in a closed loop, beside a malformed message (parsed, refused,
 * answered: the floor every request pays). `node bench/profile/tracker-ops.ts`
 */
import { UNBOUNDED, startOurTracker } from "../lib/servers.ts";
import { openClients } from "../lib/ws-load.ts";

const PEERS = 100;
const SECONDS = 3;
const tracker = await startOurTracker(UNBOUNDED);
try {
  const clients = await openClients(tracker.url, PEERS);
  await Promise.all(
    clients.map(async (client, i) => {
      await client.request(JSON.stringify({ id: 1, type: "hello", port: 1000 + i, protocol: 2 }));
      await client.request(JSON.stringify({ id: 2, type: "register", user: `u${i}`, files: [{ path: "/x", size: 1, root: "0".repeat(64) }] }));
    }),
  );
  const sha = "a".repeat(64);
  const kinds: [string, (peer: number, seq: number) => string][] = [
    ["malformed (refused after parsing)", () => "{"],
    ["list-users (read, cached)", () => JSON.stringify({ id: 3, type: "list-users" })],
    ["hello (updates one row)", (i) => JSON.stringify({ id: 3, type: "hello", port: 2000 + i, protocol: 2 })],
    ["unregister one file", (i, s) => JSON.stringify({ id: 3, type: "unregister", user: `u${i}`, paths: [`/m${(s + 1) % 10}`] })],
    ["register one file (writes one row)", (i, s) => JSON.stringify({ id: 3, type: "register", user: `u${i}`, files: [{ path: `/m${s % 10}`, size: s, root: sha }] })],
  ];
  process.stdout.write(`| request, ${PEERS} peers | ops/s |\n| --- | --- |\n`);
  for (const [name, make] of kinds) {
    const started = performance.now();
    let ops = 0;
    await Promise.all(
      clients.map(async (client, i) => {
        for (let seq = 0; performance.now() - started < SECONDS * 1000; seq++) {
          await client.request(make(i, seq));
          ops++;
        }
      }),
    );
    process.stdout.write(`| ${name} | ${Math.round(ops / ((performance.now() - started) / 1000)).toLocaleString("en-US")} |\n`);
  }
  for (const client of clients) client.close();
} finally {
  await tracker.stop();
}
