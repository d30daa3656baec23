/**
 * The live page in a real browser (Debian's Chromium, driven by
 * playwright-core) against a real `wrangler dev` tracker and real peer
 * processes: it follows a peer that comes and goes without a reload,
 * searches from the keyboard, pages through 10,000 entries, works without
 * JavaScript and on a phone's width, says when it lost the tracker, and
 * logs no console error on the way.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import type { PeerProcess } from "../scripts/processes.ts";
import { useWorld } from "../peer-cli/test/e2e/world.ts";
import { recordProblems, until, useChromium } from "./browser.ts";

/** Peers refresh far apart: what reaches the page came through the tracker's notices. */
const HOUR = 3600;
const MANY = 10_000;

const world = useWorld("p2p-live-page-");
const chromium = useChromium();
/** Console errors and uncaught exceptions of every page, as the browser reported them. */
const problems: string[] = [];

async function openPage(path = "/", options: { javaScript?: boolean; width?: number } = {}): Promise<Page> {
  const context = await chromium.browser.newContext({ javaScriptEnabled: options.javaScript ?? true, viewport: { width: options.width ?? 1200, height: 900 } });
  const page = await context.newPage();
  recordProblems(page, problems);
  await page.goto(world.tracker.http + path);
  return page;
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).count()) === 0 ? "" : ((await page.locator(selector).first().textContent()) ?? ""));
const state = (page: Page) => page.locator("#live-status").getAttribute("data-state");
const live = (page: Page) => until("the page to be live", async () => (await state(page)) === "live");
const userRow = (page: Page, user: string) => page.locator("#users tbody tr", { has: page.getByRole("link", { name: user, exact: true }) });
const fileNames = (page: Page) => page.locator("#files tbody td.path .name").allTextContents();

async function makeFiles(folder: string, names: readonly string[]): Promise<string[]> {
  await mkdir(folder, { recursive: true });
  return Promise.all(
    names.map(async (name) => {
      const path = join(folder, name);
      await writeFile(path, `${name}\n`);
      return path;
    }),
  );
}

describe("the live page", () => {
  let page: Page;
  let alice: PeerProcess;

  it("shows a peer that registers, without a reload", async () => {
    page = await openPage();
    expect(await page.title()).toBe("Tracker: 0 users online, 0 files");
    await live(page);
    expect(await text(page, "#users")).toContain("No one is online");
    // Set on this document: a reload would lose it.
    await page.evaluate("window.sameDocument = true");

    alice = await world.start("alice", { refresh: HOUR, args: ["--user", "Alice"] });
    const files = await makeFiles(join(world.dir, "alice-files"), ["holiday-photo.jpg", "notes-monday.txt", "notes-tuesday.txt"]);
    const registered = await alice.run("register", "Alice", ...files);
    expect(registered.code, registered.stderr).toBe(0);

    await until("Alice's three files", async () => (await fileNames(page)).length === 3);
    expect(await fileNames(page)).toEqual(["holiday-photo.jpg", "notes-monday.txt", "notes-tuesday.txt"]);
    expect(await userRow(page, "Alice").textContent()).toContain(`127.0.0.1:${alice.miniServerPort()}`);
    expect(await page.title()).toBe("Tracker: 1 user online, 3 files");
    expect(await text(page, "#totals")).toContain("Users online1");
    expect(await page.evaluate("window.sameDocument")).toBe(true);
  });

  it("filters by name from the keyboard", async () => {
    // "/" jumps to the search; Enter submits it.
    await page.keyboard.press("/");
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).toBe("q");
    await page.keyboard.type("NOTES");
    await page.keyboard.press("Enter");
    await page.waitForURL(/[?&]q=NOTES/);
    expect(await fileNames(page)).toEqual(["notes-monday.txt", "notes-tuesday.txt"]);
    expect(await text(page, "#files h2")).toContain("names containing “NOTES”");

    // Filtering by user is one click from the users' table, and the search is kept.
    await userRow(page, "Alice").getByRole("link", { name: "Alice" }).click();
    await page.waitForURL(/[?&]user=Alice/);
    expect(await fileNames(page)).toEqual(["notes-monday.txt", "notes-tuesday.txt"]);
    await live(page);
  });

  it("drops a peer when it stops, without a reload", async () => {
    await page.goto(world.tracker.http + "/");
    await live(page);
    expect(await userRow(page, "Alice").count()).toBe(1);
    await alice.kill();
    await until("Alice to leave the users' table", async () => (await userRow(page, "Alice").count()) === 0);
    expect(await text(page, "#files")).toContain("No files are offered yet");
    expect(await page.title()).toBe("Tracker: 0 users online, 0 files");
  });

  it(`pages through ${MANY.toLocaleString("en")} entries, each once and in order`, { timeout: 240_000 }, async () => {
    const carol = await world.start("carol", { refresh: HOUR, args: ["--user", "Carol"] });
    const names = Array.from({ length: MANY }, (_, i) => `entry-${String(i).padStart(5, "0")}.dat`);
    const paths = await makeFiles(join(world.dir, "carol-files"), names);
    for (let start = 0; start < paths.length; start += 2500) {
      const registered = await carol.run("register", "Carol", ...paths.slice(start, start + 2500));
      expect(registered.code, registered.stderr).toBe(0);
    }
    // The open page catches up by itself.
    await until("the open page to count them", async () => (await text(page, "#totals")).includes(`Files${MANY.toLocaleString("en")}`), 30_000);

    await page.goto(world.tracker.http + "/?limit=500");
    expect(await text(page, "#files .pager")).toContain(`1–500 of ${MANY.toLocaleString("en")}`);
    const seen: string[] = [];
    for (let pageNumber = 1; ; pageNumber++) {
      seen.push(...(await fileNames(page)));
      const next = page.getByRole("link", { name: "Next page →" });
      if ((await next.count()) === 0) break;
      expect(pageNumber, "more pages than the entries need").toBeLessThan(MANY / 500);
      // Waits for this very page: every page after the first has a cursor in its address.
      const href = await next.getAttribute("href");
      await Promise.all([page.waitForURL(new URL(href!, world.tracker.http).href), next.click()]);
    }
    expect(seen).toEqual(names);
    expect(await text(page, "#files .pager")).toContain(`9,501–10,000 of ${MANY.toLocaleString("en")}`);
  });

  it("works without JavaScript: the first render is whole and the search submits", async () => {
    const still = await openPage("/", { javaScript: false });
    expect(await text(still, "#live-status")).toBe("Not live: reload to see changes");
    expect(await userRow(still, "Carol").textContent()).toContain("10,000");
    await still.getByLabel("File name or path contains").fill("entry-09999");
    await still.getByLabel("File name or path contains").press("Enter");
    await still.waitForURL(/q=entry-09999/);
    expect(await fileNames(still)).toEqual(["entry-09999.dat"]);
    await still.context().close();
  });

  it("fits a phone's screen", async () => {
    const phone = await openPage("/", { width: 390 });
    await live(phone);
    expect(await phone.getByLabel("File name or path contains").isVisible()).toBe(true);
    // Tables scroll inside their frame; the page itself never scrolls sideways.
    expect(await phone.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);
    await phone.context().close();
  });

  it("logged no console error on any page so far", () => {
    expect(problems).toEqual([]);
  });

  it("says when it lost the connection to the tracker", async () => {
    await page.goto(world.tracker.http + "/");
    await live(page);
    await world.tracker.stop();
    await until("the page to say it lost the tracker", async () => (await state(page)) === "lost", 30_000);
    expect(await text(page, "#live-status")).toMatch(/^Connection lost; changes are not shown\. Retrying in \d+ s…$/);
  });
});
