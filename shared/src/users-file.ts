/** The peer's local user map: one `Pesho123 – 127.0.0.1:1234` line per user. */
import type { UserAddress } from "./protocol.ts";
import { checkHost, checkPort, checkUserName } from "./validate.ts";

const SEPARATOR = " – ";

/** IPv6 literals are bracketed so the port stays unambiguous. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function formatUserLine({ user, host, port }: UserAddress): string {
  return `${user}${SEPARATOR}${formatAddress(host, port)}`;
}

export function formatUsersFile(users: readonly UserAddress[]): string {
  return users.map((u) => `${formatUserLine(u)}\n`).join("");
}

const LINE = /^(\S+) – (?:\[([^\]]+)\]|([^:\s]+)):(\d+)$/;

/** Parses a users file; malformed lines are skipped and reported. */
export function parseUsersFile(text: string): { users: UserAddress[]; bad: string[] } {
  const users: UserAddress[] = [];
  const bad: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const match = LINE.exec(line.trim());
    try {
      if (!match) throw new Error(line);
      users.push({
        user: checkUserName(match[1]),
        host: checkHost(match[2] ?? match[3]),
        port: checkPort(Number(match[4])),
      });
    } catch {
      bad.push(line);
    }
  }
  return { users, bad };
}
