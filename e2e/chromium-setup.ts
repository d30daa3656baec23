// Vitest's global setup for the browser tests: Chromium is there before any test starts (scripts/chromium.ts).
import { ensureChromium } from "../scripts/chromium.ts";

export default function setup(): void {
  ensureChromium();
}
