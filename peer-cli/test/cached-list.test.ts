/**
 * A paced list (the file index): the list in memory is current at once, the
 * file follows no faster than its pace, and stopping writes what is waiting.
 */
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CachedList } from "../src/peer/cached-list.ts";
import { useSocketFixture } from "./helpers.ts";

const fixture = useSocketFixture("p2p-cached-");
const lines = { parse: (text: string) => text.split("\n").filter(Boolean), serialize: (items: readonly string[]) => items.map((i) => `${i}\n`).join("") };

describe("a paced cached list", () => {
  it("serves a new list at once, writes it when its turn comes, and flush writes the latest", async () => {
    const file = fixture.tempPath("list.txt");
    const errors: unknown[] = [];
    // One byte a second: after the first write, the next one's turn is far away.
    const list = new CachedList(file, lines, { paceBytesPerSecond: 1, onError: (e) => errors.push(e) });
    await list.replace(["a"]);
    await list.flush();
    expect(await readFile(file, "utf8")).toBe("a\n");

    await list.replace(["b"]);
    await list.replace(["b", "c"]);
    expect(list.items).toEqual(["b", "c"]);
    expect(await readFile(file, "utf8")).toBe("a\n");

    await list.flush();
    expect(await readFile(file, "utf8")).toBe("b\nc\n");
    expect(errors).toEqual([]);
  });

  it("keeps serving the new list when the file cannot be written, and says why", async () => {
    const dir = fixture.tempPath("gone");
    await mkdir(dir);
    const errors: unknown[] = [];
    const list = new CachedList(join(dir, "list.txt"), lines, { paceBytesPerSecond: 1e9, onError: (e) => errors.push(e) });
    await rm(dir, { recursive: true });
    await list.replace(["x"]);
    await list.flush();
    expect(list.items).toEqual(["x"]);
    expect(errors).toHaveLength(1);
  });
});
