import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { PING, PONG } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, api, eventually, file } from "./tracker-socket.ts";

const trackerStub = () => env.TRACKER.get(env.TRACKER.idFromName("tracker"));
const usersOf = async () => (await api<{ user: string }[]>("/api/users")).map((u) => u.user);

/** Makes the tracker believe these users' sockets were opened an hour ago. */
async function age(users: string[]): Promise<void> {
  await runInDurableObject(trackerStub(), (_instance, state) => {
    for (const ws of state.getWebSockets()) {
      const connection = ws.deserializeAttachment() as { user: string | null; since: number };
      if (connection.user && users.includes(connection.user)) ws.serializeAttachment({ ...connection, since: Date.now() - 3_600_000 });
    }
  });
}

describe("heartbeat", () => {
  it("drops a peer that stopped pinging, keeps one that pings", async () => {
    const silent = await TrackerSocket.hello();
    const alive = await TrackerSocket.hello();
    await silent.ok("register", { user: "silent", files: [file("/s")] });
    await alive.ok("register", { user: "alive", files: [file("/a")] });
    await age(["silent", "alive"]);
    alive.ws.send(PING);
    expect(await alive.next()).toBe(PONG);

    expect(await runDurableObjectAlarm(trackerStub())).toBe(true);

    const users = await usersOf();
    expect(users).not.toContain("silent");
    expect(users).toContain("alive");
    await eventually(async () => silent.closed, "the silent peer's socket to be closed");
    expect(alive.closed).toBe(false);
    await alive.close();
  });

  it("wakes next when the first socket could be overdue, not on a fixed beat", async () => {
    const young = await TrackerSocket.hello();
    const opened = Date.now();
    await young.ok("register", { user: "beat", files: [] });
    expect(await runDurableObjectAlarm(trackerStub())).toBe(true);
    const due = await runInDurableObject(trackerStub(), (_instance, state) => state.storage.getAlarm());
    // 45 s (the default timeout) after the socket was last seen: not 15 s, as a beat of a third of it would be.
    expect(due).toBeGreaterThanOrEqual(opened - 1_000 + 45_000);
    expect(due).toBeLessThanOrEqual(Date.now() + 45_001);
    await young.close();
  });

  it("leaves young connections alone even before their first ping", async () => {
    const young = await TrackerSocket.hello();
    await young.ok("register", { user: "young", files: [file("/y")] });
    // The sweep really runs (a socket is open, so an alarm is set), and spares it.
    expect(await runDurableObjectAlarm(trackerStub())).toBe(true);
    expect(await usersOf()).toContain("young");
    await young.close();
  });
});
