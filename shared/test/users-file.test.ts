import { describe, expect, it } from "vitest";
import { formatUsersFile, parseUsersFile } from "../src/index.ts";

describe("users file", () => {
  it("writes one `name – host:port` line per user", () => {
    const text = formatUsersFile([
      { user: "Pesho123", host: "127.0.0.1", port: 1234 },
      { user: "Gosho321", host: "::1", port: 2314 },
    ]);
    expect(text).toBe("Pesho123 – 127.0.0.1:1234\nGosho321 – [::1]:2314\n");
  });

  it("reads back what it writes and reports bad lines", () => {
    const users = [
      { user: "a", host: "10.1.2.3", port: 1 },
      { user: "b.c", host: "fe80::1", port: 65535 },
    ];
    const { users: read, bad } = parseUsersFile(formatUsersFile(users) + "garbage line\nx – host:99999\n");
    expect(read).toEqual(users);
    expect(bad).toEqual(["garbage line", "x – host:99999"]);
  });
});
