/**
 * The hub restarting between a shard's publication and its broadcast (its
 * timer lost with it): what was published is still told to every shard,
 * so a departure leaves every synced copy and no ghost stays.
 */
import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { file } from "../tracker-socket.ts";
import { closeAll, hubStub, nameOn, names, peer, settledCopy, until, update, type Copy } from "./shards.ts";

afterEach(closeAll);

describe("a hub that restarts before it broadcasts", () => {
  it("still tells every shard what was published: a departure leaves a synced copy on another shard", async () => {
    const user = nameOn(1, "hub-restart-");
    const registrant = await peer(user);
    await registrant.ok("register", { user, files: [file("/ghost")] });
    const watcher = await peer(nameOn(0, "hub-restart-w-"));
    let copy: Copy = await settledCopy(watcher, null);
    copy = await until(async () => (copy = await update(watcher, copy)), (c) => names(c.catalog.userList()).includes(user), "the copy to hold the user");

    const before = await hubStub().version();
    // Inside the hub: once the departure's publication has moved its version, it restarts before its broadcast timer runs.
    const restarted = runInDurableObject(hubStub(), async (instance, state) => {
      while (instance.version() === before) await new Promise((resolve) => setTimeout(resolve, 1));
      await state.storage.sync();
      setTimeout(() => state.abort("the hub restarts"), 0);
    });
    await registrant.close();
    await restarted;

    copy = await until(async () => (copy = await update(watcher, copy)), (c) => !names(c.catalog.userList()).includes(user), "the departure to reach the copy", 8000);
    expect(copy.catalog.fileList().some((f) => f.user === user)).toBe(false);
  }, 30_000);
});
