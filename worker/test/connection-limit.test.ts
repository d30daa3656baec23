/** At most MAX_SOCKETS_PER_ADDRESS open sockets per address; more get HTTP 429 and nothing else changes. */
import { MAX_SOCKETS_PER_ADDRESS } from "@p2p/shared";
import { describe, expect, it } from "vitest";
import { TrackerSocket, eventually, upgrade } from "./tracker-socket.ts";

describe("sockets per address", () => {
  it("refuses one socket too many from an address with 429, and takes it once one closes", async () => {
    const from = (ip: string) => ({ "CF-Connecting-IP": ip });
    const sockets = await Promise.all(Array.from({ length: MAX_SOCKETS_PER_ADDRESS }, () => TrackerSocket.open(from("198.51.100.20"))));

    const refused = await upgrade(from("198.51.100.20"));
    expect(refused.status).toBe(429);
    expect(refused.webSocket).toBeNull();
    expect(await refused.json()).toMatchObject({ error: { code: "too-many-connections", message: expect.stringContaining("198.51.100.20") } });

    // Other addresses are not affected, and the open sockets still work.
    const elsewhere = await TrackerSocket.open(from("198.51.100.21"));
    expect(await elsewhere.ok("hello", { port: 4000, protocol: 2 })).toMatchObject({ host: "198.51.100.21" });
    expect(await sockets[0]!.ok("hello", { port: 4001, protocol: 2 })).toMatchObject({ host: "198.51.100.20" });

    await sockets.pop()!.close();
    let again: Response | undefined;
    await eventually(async () => {
      again = await upgrade(from("198.51.100.20"));
      return again.status === 101;
    }, "a free slot after a close");
    again!.webSocket!.accept();
    again!.webSocket!.close(1000, "done");
    for (const socket of [...sockets, elsewhere]) await socket.close();
  });
});
