/**
 * Multi-source: three holders of the same content, each upload capped at the
 * same rate, against one holder at that rate; the speed-up is taken per run.
 */
import { copyFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { pieceCountFor, pieceSizeFor } from "@p2p/shared";
import { makeTempDir, startPeer, startTracker, type PeerProcess, type Tracker } from "../../scripts/processes.ts";
import { download, makeRandomFile, MiB, miniServerPort, removeCopy, runOk, waitForListing, warmPieceMap } from "../lib/peers.ts";
import { fmt, inTurn, median, table, type SuiteOptions, type SuiteResult } from "../lib/report.ts";

const HOLDERS = ["Holder1", "Holder2", "Holder3"];
/** Each holder's upload cap (P2P_TEST_THROTTLE_BPS). */
const RATE = 16 * MiB;

export async function run(options: SuiteOptions): Promise<SuiteResult> {
  const { log, runs } = options;
  const size = (options.quick ? 64 : 192) * MiB;
  const sizeLabel = options.quick ? "64 MiB" : "192 MiB";
  const mbps = (seconds: number) => size / 1e6 / seconds;

  const dir = await makeTempDir("p2p-bench-multi-");
  let tracker: Tracker | undefined;
  const peers: PeerProcess[] = [];
  try {
    log(`multi-source: writing a ${sizeLabel} random file and a copy for each holder under ${dir}`);
    const original = join(dir, "original.bin");
    await makeRandomFile(original, size);
    const files = HOLDERS.map((name) => join(dir, `${name.toLowerCase()}-file.bin`));
    for (const f of files) await copyFile(original, f);
    await rm(original);

    tracker = await startTracker();
    const env = { P2P_TEST_THROTTLE_BPS: String(RATE) };
    const holders = await Promise.all(HOLDERS.map((name) => startPeer(name.toLowerCase(), tracker!.url, dir, { env, args: ["--user", name] })));
    peers.push(...holders);
    const downloader = await startPeer("downloader", tracker.url, dir);
    peers.push(downloader);
    await Promise.all(holders.map((h, i) => runOk(h, "register", HOLDERS[i]!, files[i]!)));
    await waitForListing(
      downloader,
      HOLDERS.map((user, i) => ({ user, path: files[i]! })),
    );
    // Every holder computes its piece map once, before anything is timed.
    await Promise.all(holders.map((h, i) => warmPieceMap(miniServerPort(h), files[i]!)));

    const [first] = HOLDERS;
    const save = join(dir, "download.bin");
    const single = async (label: string): Promise<number> => {
      const outcome = await download(downloader, first!, files[0]!, save, "--single-source");
      await removeCopy(save);
      log(`multi-source: one source, ${label}: ${fmt(outcome.seconds, 2)} s`);
      return outcome.seconds;
    };
    const multi = async (label: string): Promise<{ seconds: number; pieces: Record<string, number>; dropped: string[] }> => {
      const outcome = await download(downloader, first!, files[0]!, save);
      await removeCopy(save);
      const pieces = Object.fromEntries(outcome.sources.map((s) => [s.user, s.pieces]));
      const dropped = outcome.sources.filter((s) => s.dropped).map((s) => `${s.user}: ${s.dropped}`);
      log(`multi-source: three sources, ${label}: ${fmt(outcome.seconds, 2)} s, pieces ${JSON.stringify(pieces)}`);
      return { seconds: outcome.seconds, pieces, dropped };
    };

    const singles: number[] = [];
    const multis: { seconds: number; pieces: Record<string, number>; dropped: string[] }[] = [];
    const speedUps: number[] = [];
    for (let i = 0; i < runs; i++) {
      const [s, m] = await inTurn(i, () => single(`run ${i + 1}`), () => multi(`run ${i + 1}`));
      singles.push(s);
      multis.push(m);
      speedUps.push(s / m.seconds);
    }

    const speedUp = median(speedUps);
    const singleSeconds = median(singles);
    const multiSeconds = median(multis.map((m) => m.seconds));
    const dropped = multis.flatMap((m) => m.dropped);
    const pieceSize = pieceSizeFor(size);
    const pieceCount = pieceCountFor(size, pieceSize);
    const body = [
      `A ${sizeLabel} file; every holder's uploads capped at ${RATE / MiB} MiB/s (\`P2P_TEST_THROTTLE_BPS=${RATE}\`); ${runs} run${runs === 1 ? "" : "s"}; reproduce with \`npm run bench -- --only multi-source\`${options.quick ? " (this was `--quick`: 64 MiB, 1 run)" : ""}.`,
      "",
      table(
        ["case", "seconds (median)", "MB/s", "speed-up"],
        [
          ["one source (`--single-source`)", fmt(singleSeconds, 2), fmt(mbps(singleSeconds), 1), "1.00×"],
          ["three sources", fmt(multiSeconds, 2), fmt(mbps(multiSeconds), 1), `${fmt(speedUp, 2)}×`],
        ],
      ),
      "",
      `Pieces each source delivered in the three-source runs (${pieceCount} pieces of ${pieceSize / 1024} KiB):`,
      "",
      table(
        ["run", "one source s", "three sources s", "speed-up", ...HOLDERS],
        multis.map((m, i) => [i + 1, fmt(singles[i]!, 2), fmt(m.seconds, 2), `${fmt(speedUps[i]!, 2)}×`, ...HOLDERS.map((h) => m.pieces[h] ?? 0)]),
      ),
      "",
      `- Three holder peers each offer their own copy of the same content under their own name; one downloading peer. The one-source run downloads from ${first} with \`--single-source\`; the three-source run names ${first} and the others join from the cached file index.`,
      `- Seconds are the downloading peer's own (\`download --json\`): piece maps proved against the root, pieces, fsync and placing the file. The ideal speed-up is 3×; at ${RATE / MiB} MiB/s per source the fixed costs (asking for piece maps, fsync, the endgame) weigh against it.`,
      "- Every holder's piece map is computed (one untimed `pieces` request each) before the timed runs. The speed-up is taken per run (one-source seconds / three-source seconds), then the median; runs alternate which goes first.",
      dropped.length > 0 ? `- Sources dropped during the runs: ${dropped.join("; ")}.` : "- No source was dropped in any run.",
    ].join("\n");

    return {
      title: "Multi-source downloads",
      body,
      targets: [{ name: "Multi-source speed-up (3 throttled sources)", value: speedUp, target: "≥ 2.9×", met: speedUp >= 2.9 }],
    };
  } finally {
    await Promise.all(peers.map((p) => p.kill()));
    await tracker?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
