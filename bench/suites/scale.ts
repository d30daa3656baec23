/**
 * One tracker object at scale: 1,000 users offering 50 files each, which
 * fills the catalog to its budget. How long list-files takes over the whole
 * catalog and how big it is, how much memory the tracker process holds, and
 * how long a reconnect storm takes to settle.
 */
import { randomBytes } from "node:crypto";
import { fmt, mb, median, memoryOf, table, workerdPids, type SuiteOptions, type SuiteResult } from "../lib/report.ts";
import { MAX_CATALOG_BYTES } from "@p2p/shared";
import { startOurTracker } from "../lib/servers.ts";
import { openClients, type LoadClient } from "../lib/ws-load.ts";

const USERS = 1000;
/** With these paths, 1,000 × 50 entries take 99.5% of MAX_CATALOG_BYTES as the tracker counts them. */
const FILES = 50;

function filesOf(user: number) {
  return Array.from({ length: FILES }, (_, f) => ({ path: `/scale/user${user}/some/folder/file-${f}.bin`, size: 1_000_000 + f, root: randomBytes(32).toString("hex") }));
}

/**
 * Every client says hello and registers its files. In a storm, a name may
 * still be held by a closing connection (name-taken), and the catalog still
 * full of the users it holds (catalog-full): both are retried, as a peer does.
 */
async function joinAll(clients: LoadClient[]): Promise<void> {
  await Promise.all(
    clients.map(async (client, i) => {
      const hello = await client.request(JSON.stringify({ id: 1, type: "hello", port: 20_000 + i, protocol: 2 }));
      if (!hello.includes('"ok":true')) throw new Error(`hello refused: ${hello}`);
      const message = JSON.stringify({ id: 2, type: "register", user: `user${i}`, files: filesOf(i) });
      for (let attempt = 0; ; attempt++) {
        const reply = await client.request(message);
        if (reply.includes('"ok":true')) return;
        if (!/name-taken|catalog-full/.test(reply) || attempt > 200) throw new Error(`register refused: ${reply.slice(0, 200)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }),
  );
}

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const tracker = await startOurTracker();
  const listMs: number[] = [];
  const storms: number[] = [];
  let listBytes = 0;
  let entries = 0;
  let memory = { rss: Number.NaN, peak: Number.NaN };
  try {
    options.log(`scale: ${USERS} users × ${FILES} files`);
    let clients = await openClients(tracker.url, USERS);
    await joinAll(clients);

    const [observer] = await openClients(tracker.url, 1);
    for (let i = 0; i < Math.max(5, options.runs); i++) {
      const started = performance.now();
      const reply = await observer!.request(JSON.stringify({ id: 100 + i, type: "list-files" }));
      listMs.push(performance.now() - started);
      listBytes = Buffer.byteLength(reply);
      entries = (JSON.parse(reply) as { result: { files: unknown[] } }).result.files.length;
    }
    const pid = (await workerdPids(tracker)).tracker;
    if (pid) memory = await memoryOf(pid);

    for (let run = 0; run < options.runs; run++) {
      options.log(`scale: reconnect storm ${run + 1}/${options.runs}`);
      const started = performance.now();
      for (const client of clients) client.close();
      clients = await openClients(tracker.url, USERS);
      await joinAll(clients);
      // Settled: the tracker lists exactly everyone again, with every file.
      for (;;) {
        const users = JSON.parse(await observer!.request(JSON.stringify({ id: 1, type: "list-users" }))) as { result: { users: unknown[] } };
        if (users.result.users.length === USERS) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      storms.push(performance.now() - started);
    }
    for (const client of clients) client.close();
    observer!.close();
  } finally {
    await tracker.stop();
  }

  const list = median(listMs);
  const storm = median(storms) / 1000;
  const body = `Reproduce: \`npm run bench -- --only scale\`. ${USERS} WebSocket peers each register ${FILES} files (${fmt(entries, 0)} entries: 99.5% of the ${mb(MAX_CATALOG_BYTES)} MB catalog budget as the tracker counts it, with every size taken as 16 digits, so the listing itself is a little smaller), then one more peer asks for list-files ${listMs.length} times. Then all ${USERS} sockets close at once and ${USERS} new ones connect, say hello and register their ${FILES} files again (a name still held by a socket the tracker has not seen close yet, or a catalog still full of the old users, is retried); settled means list-users shows all ${USERS} users again.

${table(
  ["measure", "median"],
  [
    ["list-files over all entries", `${fmt(list, 0)} ms`],
    ["list-files reply size", `${mb(listBytes)} MB`],
    ["tracker's workerd resident memory after loading", `${mb(memory.rss)} MB (peak ${mb(memory.peak)} MB)`],
    [`reconnect storm of ${USERS} peers, settled`, `${fmt(storm, 2)} s`],
  ],
)}`;
  return {
    title: "One tracker object at scale",
    body,
    targets: [
      { name: `list-files over ${fmt(entries, 0)} entries (ms)`, value: list, target: "< 500", met: list < 500 },
      { name: `Reconnect storm of ${USERS} peers settled (s)`, value: storm, target: "< 10", met: storm < 10 },
    ],
  };
}
