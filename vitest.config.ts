// Vitest 4+ reads projects from here (vitest.workspace.ts is gone).
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "shared", include: ["shared/test/**/*.test.ts"], environment: "node", testTimeout: 30_000 },
      },
      {
        // An open tracker, even where a developer's .dev.vars sets an access token.
        // Reachability probes give up after 2 s here (3 s deployed), so tests of the timeout are quicker while a
        // busy test process still answers in time, and never leave the machine, whatever address a test
        // says a peer came from.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: { bindings: { P2P_TOKEN: "", PROBE_TIMEOUT_MS: "2000", PROBE_LOOPBACK_ONLY: "1" } },
          }),
        ],
        // Servers in Node for the probes to reach (worker/test/probe-targets.ts).
        test: {
          name: "worker",
          include: ["worker/test/**/*.test.ts"],
          // The sharded tracker's tests run in a project of their own, with TRACKER_SHARDS set.
          exclude: ["worker/test/shards/**"],
          globalSetup: ["worker/test/probe-targets.ts"],
          // Vitest's 5 s default is too tight for a loaded 2-core machine.
          testTimeout: 30_000,
        },
      },
      {
        // The same worker sharded over four tracker objects and a hub (SCALING.md), with the same open, quick probes.
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: { bindings: { P2P_TOKEN: "", PROBE_TIMEOUT_MS: "500", PROBE_LOOPBACK_ONLY: "1", TRACKER_SHARDS: "4" } },
          }),
        ],
        test: { name: "worker-shards", include: ["worker/test/shards/**/*.test.ts"], globalSetup: ["worker/test/probe-targets.ts"], testTimeout: 30_000 },
      },
      {
        test: {
          name: "peer-cli",
          include: ["peer-cli/test/**/*.test.ts"],
          environment: "node",
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The live page in Debian's Chromium (playwright-core), against `wrangler dev` and real peers.
        test: {
          name: "browser",
          include: ["e2e/**/*.browser.test.ts"],
          environment: "node",
          globalSetup: ["e2e/chromium-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
