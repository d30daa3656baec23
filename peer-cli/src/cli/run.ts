/** The program: what `p2p-peer` runs, bundled or from source. */
import { runCli } from "./main.ts";

await runCli(process.argv.slice(2));
