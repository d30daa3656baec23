/**
 * Syncs from old versions are folded, from the shard's chain of broadcasts
 * or, older than that, by the hub. A socket that asks for many of them pays
 * for every fold as it would on one object (50 changes a token): it is
 * rate-limited, and neither its shard nor the one hub every shard shares is
 * its to keep busy.
 */
import { PROTOCOL_VERSION, parseVersion } from "@p2p/shared";
import { afterEach, describe, expect, it } from "vitest";
import { TrackerSocket, file } from "../tracker-socket.ts";
import { closeAll, hubStub, nameOn, peer, until } from "./shards.ts";

afterEach(closeAll);

describe("syncs from old versions", () => {
  it("are charged to the socket that asks: a flood of old versions is rate-limited", async () => {
    // About 4,000 logged changes on shards 1–3, which cancel out.
    await Promise.all(
      Array.from({ length: 12 }, async (_, k) => {
        const user = nameOn(1 + (k % 3), `fold-churn-${k}-`);
        const socket = await peer(user);
        for (let i = 0; i < 170; i++) {
          await socket.ok("register", { user, files: [file(`/f${i}`)] });
          await socket.ok("unregister", { user, paths: [`/f${i}`] });
        }
      }),
    );
    const asker = await TrackerSocket.open({}, `/ws?user=${nameOn(0, "fold-asker-")}`);
    await asker.ok("hello", { port: 4001, protocol: PROTOCOL_VERSION });
    // Once the shards have published it all and the asker's shard was told: its version is the hub's.
    const told = await until(
      async () => [(await asker.ok("sync", {})).version, await hubStub().version()],
      ([shard, hub]) => shard === hub && parseVersion(hub!).seq > 3000,
      "the asker's shard to be told every change",
      20_000,
    );
    const { epoch } = parseVersion(told[0]!);
    // Distinct old versions: each answer is a fresh fold of thousands of changes.
    for (let i = 0; i < 300; i++) asker.ws.send(JSON.stringify({ id: 9000 + i, type: "sync", since: `${epoch}-${i}` }));
    let answered = 0;
    let limited = 0;
    for (let text = await asker.nextWithin(3000); text !== null; text = await asker.nextWithin(3000)) {
      const reply = JSON.parse(text) as { ok: boolean; error?: { code: string } };
      if (reply.ok) answered++;
      else if (reply.error?.code === "rate-limited") limited++;
    }
    expect(limited).toBeGreaterThan(0);
    expect(answered).toBeLessThan(100);
  }, 120_000);
});
