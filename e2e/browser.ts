/** What the browser tests share: Debian's Chromium, the console errors pages log, and waiting on what a page shows. */
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll } from "vitest";
import { findChromium } from "../scripts/chromium.ts";
import { waitFor } from "../scripts/processes.ts";

/** Launches the Chromium the browser project's global setup made sure of (scripts/chromium.ts); never downloads one. */
export function launchChromium(): Promise<Browser> {
  const executablePath = findChromium();
  if (!executablePath) throw new Error("no Chromium: the browser project's global setup installs it (scripts/chromium.ts)");
  return chromium.launch({ executablePath });
}

/** One Chromium for the test file: launched before its tests, closed after them. */
export function useChromium(): { readonly browser: Browser } {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  }, 60_000);
  return {
    get browser() {
      if (!browser) throw new Error("Chromium is not launched yet");
      return browser;
    },
  };
}

/** Collects the page's console errors and uncaught exceptions into `problems`, each with the address it came from. */
export function recordProblems(page: Page, problems: string[]): void {
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`${page.url()}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`${page.url()}: ${error.message}`));
}

/** Waits, with a deadline, until the page shows what `check` looks for (the page changes by itself). */
export const until = (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => waitFor(what, async () => (await check()) || undefined, timeoutMs);
