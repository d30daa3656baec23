/**
 * The live page of a sharded tracker (`wrangler dev`, TRACKER_SHARDS=4) in
 * Debian's Chromium: users on different shards appear on one page as they
 * register and leave it as they stop, with no reload, told through the
 * hub's broadcasts to whichever shard the page's socket landed on.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useWorld } from "../peer-cli/test/e2e/world.ts";
import { recordProblems, until, useChromium } from "./browser.ts";

const world = useWorld("p2p-live-sharded-", { vars: { TRACKER_SHARDS: "4" } });
const chromium = useChromium();
const problems: string[] = [];

const usersShown = async (page: Page) => (await page.locator("#users tbody tr td:first-child").allTextContents()).map((t) => t.trim());

describe("the live page of a tracker of four shards", () => {
  it("shows users of every shard as they come and go, without a reload", async () => {
    const page = await chromium.browser.newPage();
    recordProblems(page, problems);
    await page.goto(world.tracker.http + "/");
    await until("the page to be live", async () => (await page.locator("#live-status").getAttribute("data-state")) === "live");
    await page.evaluate("window.sameDocument = true");

    // Alice, Bob and Eve live on three different shards (shards/placement.ts).
    await mkdir(join(world.dir, "files"));
    const peers = [];
    for (const user of ["Alice", "Bob", "Eve"]) {
      const peer = await world.start(user.toLowerCase(), { refresh: 3600, args: ["--user", user] });
      peers.push(peer);
      const path = join(world.dir, "files", `${user}.txt`);
      await writeFile(path, `${user}\n`);
      expect((await peer.run("register", user, path)).code).toBe(0);
    }
    const filesShown = () => page.locator("#files tbody td.path .name").allTextContents();
    await until("all three users and their files on the page", async () => (await usersShown(page)).join(",") === "Alice,Bob,Eve" && (await filesShown()).join(",") === "Alice.txt,Bob.txt,Eve.txt");

    await peers[1]!.kill();
    await until("Bob to leave the page", async () => (await usersShown(page)).join(",") === "Alice,Eve");
    expect(await page.title()).toBe("Tracker: 2 users online, 2 files");
    expect(await page.evaluate("window.sameDocument")).toBe(true);
    expect(problems).toEqual([]);
  });
});
