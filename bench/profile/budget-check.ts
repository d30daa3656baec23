/**
 * What the tracker pays per message before and instead of reading it: the
 * message budget's charge, beside parsing the smallest malformed message and
 * typical requests. Same engine (V8) as workerd, without the runtime's own
 * cost of delivering each message. `node bench/profile/budget-check.ts`
 */
import { parseRequest } from "@p2p/shared";
import { MessageBudget } from "../../worker/src/tracker/budgets/message-budget.ts";

const ROUNDS = 2_000_000;
const sockets = Array.from({ length: 100 }, () => ({}) as WebSocket);
const budget = new MessageBudget(1e12, 1e12);
const register = JSON.stringify({ id: 7, type: "register", user: "Pesho123", files: [{ path: "/home/pesho/music/song.mp3", size: 3145728, root: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" }] });

function nsPer(rounds: number, work: (i: number) => unknown): number {
  for (let i = 0; i < rounds / 10; i++) work(i); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) work(i);
  return Number(process.hrtime.bigint() - started) / rounds;
}

const rows: [string, number][] = [
  ["budget charge (100 sockets, round robin)", nsPer(ROUNDS, (i) => budget.charge(sockets[i % 100]!, 12, i))],
  ['parseRequest("{") — malformed, refused', nsPer(ROUNDS / 10, () => parseRequest("{"))],
  ["parseRequest(list-users)", nsPer(ROUNDS / 10, () => parseRequest('{"id":5,"type":"list-users"}'))],
  ["parseRequest(register, one file)", nsPer(ROUNDS / 10, () => parseRequest(register))],
];
process.stdout.write(`| step | ns per message |\n| --- | --- |\n${rows.map(([name, ns]) => `| ${name} | ${ns.toFixed(0)} |`).join("\n")}\n`);
