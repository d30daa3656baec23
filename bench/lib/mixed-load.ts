/**
 * The tracker's everyday traffic, shared by the suites that measure it: peers
 * that say hello and register files, then a closed-loop mix of register,
 * unregister and list-users, with one peer listing every file once a second.
 */
import { randomBytes } from "node:crypto";
import { closedLoop, type LoadClient, type LoadResult } from "./ws-load.ts";

/** Files each peer registers before the mixed load. */
export const FILES_PER_PEER = 100;

export const randomSha = () => randomBytes(32).toString("hex");

export const expectOk = (reply: string) => {
  if (!reply.includes('"ok":true')) throw new Error(`the tracker refused a benchmark request: ${reply.slice(0, 200)}`);
};

export async function helloAndRegister(clients: LoadClient[], label: string): Promise<void> {
  await Promise.all(
    clients.map(async (client, i) => {
      expectOk(await client.request(JSON.stringify({ id: 1, type: "hello", port: 10_000 + i, protocol: 2 })));
      const files = Array.from({ length: FILES_PER_PEER }, (_, f) => ({ path: `/bench/${label}${i}/file-${f}`, size: 1000 + f, root: randomSha() }));
      expectOk(await client.request(JSON.stringify({ id: 2, type: "register", user: `${label}${i}`, files })));
    }),
  );
}

/** register, unregister and list-users, evenly mixed; client 0 also lists every file once a second. See closedLoop for `giveUpAfterMs`. */
export function mixedLoad(clients: LoadClient[], label: string, durationMs: number, giveUpAfterMs?: number): Promise<LoadResult> {
  const hash = randomSha();
  let lastListFiles = 0;
  return closedLoop(
    clients,
    durationMs,
    (client, seq) => {
      const id = seq + 10;
      if (client === 0 && performance.now() - lastListFiles > 1000) {
        lastListFiles = performance.now();
        return JSON.stringify({ id, type: "list-files" });
      }
      const path = `/bench/${label}${client}/mixed-${seq % 10}`;
      switch (seq % 3) {
        case 0:
          return JSON.stringify({ id, type: "register", user: `${label}${client}`, files: [{ path, size: seq, root: hash }] });
        case 1:
          return JSON.stringify({ id, type: "unregister", user: `${label}${client}`, paths: [`/bench/${label}${client}/mixed-${(seq - 1) % 10}`] });
        default:
          return JSON.stringify({ id, type: "list-users" });
      }
    },
    expectOk,
    giveUpAfterMs,
  );
}
