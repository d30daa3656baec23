#!/usr/bin/env node
// Runs the TypeScript sources directly: Node ≥ 22.18 strips types natively.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `p2p-peer needs Node ≥ 22.18 (this is ${process.version}); run it through npm (npx p2p-peer …), which uses the project's Node 22\n`,
  );
  process.exit(1);
}
const { runCli } = await import("../src/cli/main.ts");
await runCli(process.argv.slice(2));
