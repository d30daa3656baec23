/**
 * Where the mini-server listens. By default on every address, so a peer the
 * tracker saw over IPv6 (and advertises by that address) answers there, while
 * IPv4 clients still reach it.
 */
import { describe, expect, it } from "vitest";
import { SourceConnection } from "../src/download/source-connection.ts";
import { OfferedFiles } from "../src/files/offered-files.ts";
import { useSocketFixture } from "./helpers.ts";

const { serve, offer } = useSocketFixture("p2p-mini-addresses-");

async function pieceCountFrom(host: string, port: number, path: string): Promise<number> {
  const connection = await SourceConnection.open({ host, port });
  try {
    return (await connection.pieceMap(path)).hashes.length;
  } finally {
    connection.close();
  }
}

describe("the mini-server's addresses", () => {
  it("by default serves IPv6 and IPv4 clients alike", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "both.bin", Buffer.alloc(1000, 7));
    const server = await serve(files, { host: undefined });
    expect(server.address).toBe(`[::]:${server.port}`);
    expect(await pieceCountFrom("::1", server.port, path)).toBe(1);
    expect(await pieceCountFrom("127.0.0.1", server.port, path)).toBe(1);
  });

  it("bound to ::1 serves over IPv6 loopback and says so bracketed", async () => {
    const files = new OfferedFiles();
    const path = await offer(files, "v6.bin", Buffer.alloc(1000, 9));
    const server = await serve(files, { host: "::1" });
    expect(server.address).toBe(`[::1]:${server.port}`);
    expect(await pieceCountFrom("::1", server.port, path)).toBe(1);
  });
});
