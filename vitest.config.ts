// Vitest 4+ reads projects from here (vitest.workspace.ts is gone).
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: { name: "shared", include: ["shared/test/**/*.test.ts"], environment: "node" },
      },
      {
        // An open tracker, even where a developer's .dev.vars sets an access token.
        plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.jsonc" }, miniflare: { bindings: { P2P_TOKEN: "" } } })],
        test: { name: "worker", include: ["worker/test/**/*.test.ts"] },
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
    ],
  },
});
