/**
 * Chromium for the browser tests: Debian's package, never a browser build
 * downloaded by a test. `node scripts/chromium.ts` installs it when it is
 * missing and this runs as root (CI does, before `npm test`); elsewhere it
 * says how to install it.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL } from "node:url";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The browser to drive: $CHROMIUM_PATH, or Debian's. */
export function findChromium(): string | undefined {
  const given = process.env.CHROMIUM_PATH;
  if (given) return existsSync(given) ? given : undefined;
  return CANDIDATES.find((path) => existsSync(path));
}

export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && existsSync("/usr/bin/apt-get") && !process.env.CHROMIUM_PATH;
  if (!canInstall) {
    throw new Error(
      process.env.CHROMIUM_PATH
        ? `CHROMIUM_PATH is ${process.env.CHROMIUM_PATH}, which does not exist`
        : "the browser tests need Chromium: install Debian's package (sudo apt-get install chromium) or set CHROMIUM_PATH to a Chromium binary",
    );
  }
  process.stderr.write("Chromium is missing: installing Debian's package (apt-get install chromium)…\n");
  const apt = { stdio: "inherit" as const, env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } };
  execFileSync("apt-get", ["update", "-qq"], apt);
  execFileSync("apt-get", ["install", "-y", "-qq", "chromium"], apt);
  const installed = findChromium();
  if (!installed) throw new Error("apt-get installed chromium, but no binary is at " + CANDIDATES.join(" or "));
  return installed;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) process.stdout.write(`Chromium: ${ensureChromium()}\n`);
