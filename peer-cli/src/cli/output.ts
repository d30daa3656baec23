/**
 * What commands print: plain lines for people, JSON for scripts. Anything
 * that came from someone else (paths, names, reasons) is printed through
 * `printable`, so it cannot forge lines or drive the terminal; JSON is exact.
 */
import { formatAddress, formatUserLine, printable, printableProse, type FileListing } from "@p2p/shared";
import type { DownloadOutcome, RegisterOutcome, StatusOutcome, UnregisterOutcome, UsersOutcome } from "../control/protocol.ts";
import { formatBytes } from "../format-bytes.ts";
import { describeReachability } from "../peer/reachability.ts";

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
}

export const consoleOutput: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

export const printJson = (output: Output, value: unknown) => output.out(JSON.stringify(value, null, 2));

export function printFiles(output: Output, files: readonly FileListing[]): void {
  for (const file of files) output.out(`${printable(file.user)} : ${printable(file.path)}`);
}

export function printUsers(output: Output, outcome: UsersOutcome): void {
  for (const user of outcome.users) output.out(printable(formatUserLine(user)));
  if (outcome.users.length === 0) {
    output.err(outcome.refreshedAt ? "no users online" : "the user map has not been refreshed yet");
  }
  const unreachable = outcome.users.filter((u) => u.reachable === false).map((u) => printable(u.user));
  if (unreachable.length > 0) {
    output.err(`note: the tracker could not connect to ${unreachable.join(", ")}; downloads try them after the others`);
  }
}

export function printRegistered(output: Output, outcome: RegisterOutcome): void {
  for (const file of outcome.files) output.out(`registered ${outcome.user} : ${printable(file.path)} (${formatBytes(file.size)})`);
  output.err(`${outcome.added} added, ${outcome.updated} updated; ${outcome.user} offers ${outcome.total} files`);
}

export function printUnregistered(output: Output, outcome: UnregisterOutcome): void {
  for (const path of outcome.removed) output.out(`unregistered ${outcome.user} : ${printable(path)}`);
}

export function printDownloaded(output: Output, outcome: DownloadOutcome): void {
  const rate = outcome.seconds > 0 ? `, ${formatBytes(outcome.transferred / outcome.seconds)}/s` : "";
  const used = outcome.sources.filter((s) => s.pieces > 0).map((s) => s.user);
  const resumed = outcome.resumed > 0 ? `, ${formatBytes(outcome.resumed)} resumed` : "";
  const saved = printable(outcome.saved);
  output.out(`saved ${saved} (${formatBytes(outcome.size)} from ${used.join(", ") || outcome.user} in ${outcome.seconds.toFixed(1)} s${rate}${resumed})`);
  if (outcome.registeredAs) output.out(`registered ${outcome.registeredAs} : ${saved}`);
  else if (outcome.registerError) output.err(`warning: saved, but not registered: ${printableProse(outcome.registerError)}`);
  else output.err("note: saved, but not registered: this peer has no name yet (register a file first)");
}

export function printStatus(output: Output, status: StatusOutcome): void {
  output.out(`user:        ${status.user ?? "(none yet: the first register names this peer)"}`);
  output.out(`tracker:     ${printable(status.tracker)} (${status.trackerConnected ? "connected" : "unreachable, retrying"})`);
  output.out(`mini-server: port ${status.miniServerPort}`);
  output.out(`reachable:   ${reachabilityLine(status)}`);
  const map = status.portMapping;
  if (map !== null) {
    output.out(
      `port map:    ${
        "error" in map
          ? `failed: ${printable(map.error)}`
          : `${map.protocol}, router ${printable(map.gateway)} forwards ${printable(formatAddress(map.externalHost, map.externalPort))} to port ${status.miniServerPort}`
      }`,
    );
  }
  output.out(`offering:    ${status.offered} files`);
  output.out(`home:        ${printable(status.home)}`);
}

function reachabilityLine(status: StatusOutcome): string {
  const state = status.reachability;
  if (state === null) return status.trackerConnected ? "not checked yet (the tracker is checking)" : "not known (no tracker)";
  const { report } = state;
  const when = ` (checked ${new Date(state.at).toLocaleTimeString()})`;
  if (report.reachable === true) return `yes, at ${printable(formatAddress(report.host, report.port))}${when}`;
  return `${report.reachable === false ? "NO" : "not known"}${when}: ${printable(describeReachability(report, status.miniServerPort))}`;
}

/** One error, each of its lines made terminal-safe. */
export function printError(output: Output, message: string): void {
  output.err(`error: ${printableProse(message)}`);
}
