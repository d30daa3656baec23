import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { writeFileAtomic } from "../src/files/atomic-write.ts";
import { sideFile } from "../src/files/side-file.ts";
import { useSocketFixture } from "./helpers.ts";

const fixture = useSocketFixture("p2p-atomic-");

describe("writeFileAtomic", () => {
  it("lands overlapping writes to one file whole and in call order, leaving no temp files", async () => {
    const path = fixture.tempPath("users.txt");
    const texts = Array.from({ length: 50 }, (_, i) => `${String(i).repeat(10_000 + i)}\n`);
    const results = await Promise.allSettled(texts.map((text) => writeFileAtomic(path, text)));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(await readFile(path, "utf8")).toBe(texts.at(-1));
    expect((await readdir(fixture.dir)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("writes next to a file whose name is as long as the file system allows", async () => {
    const path = `${fixture.dir}/${"n".repeat(250)}.json`;
    await writeFileAtomic(path, "{}");
    expect(await readFile(path, "utf8")).toBe("{}");
  });
});

describe("sideFile", () => {
  it("keeps short names readable and shortens names that would pass 255 bytes", () => {
    expect(sideFile("/d/film.mkv", ".part")).toBe("/d/film.mkv.part");
    const long = `/d/${"é".repeat(125)}`; // 250 bytes
    const part = sideFile(long, ".part.json");
    expect(part.startsWith("/d/.")).toBe(true);
    expect(Buffer.byteLength(part.slice(3))).toBeLessThanOrEqual(255);
    expect(sideFile(long, ".part.json")).toBe(part);
    expect(sideFile(long, ".part.lock")).not.toBe(part);
  });
});
