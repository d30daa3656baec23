/**
 * What a peer offers again after a restart or reconnect: the very file it
 * registered, re-hashed if it changed in place, and never another file that
 * now sits at its path.
 */
import { randomBytes } from "node:crypto";
import { rename, rm, symlink, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { fingerprintFile } from "../src/files/fingerprint.ts";
import { recheckFiles } from "../src/peer/recheck.ts";
import { rootOf, useSocketFixture } from "./helpers.ts";

const { tempPath } = useSocketFixture("p2p-recheck-");

async function registered(data: Buffer) {
  const path = tempPath("offered.bin");
  await writeFile(path, data);
  return { path, ...(await fingerprintFile(path)) };
}

describe("recheckFiles", () => {
  it("drops a file replaced by a symlink to another (private) file, without reading it", async () => {
    const file = await registered(randomBytes(1000));
    const secret = tempPath("secret.key");
    await writeFile(secret, "private key material", { mode: 0o600 });
    await rm(file.path);
    await symlink(secret, file.path);
    const [outcome] = await recheckFiles([file]);
    expect(outcome).toEqual({ path: file.path, dropped: expect.stringContaining("the path now leads to another file") });
  });

  it("drops a file replaced by another one moved over it", async () => {
    const file = await registered(randomBytes(1000));
    const other = tempPath("other.bin");
    await writeFile(other, randomBytes(1000));
    await rename(other, file.path);
    const [outcome] = await recheckFiles([file]);
    expect(outcome).toMatchObject({ path: file.path, dropped: expect.stringContaining("another file") });
  });

  it("hashes again the same file changed in place, and offers it under its new root", async () => {
    const file = await registered(randomBytes(300_000));
    const changed = randomBytes(300_000);
    await writeFile(file.path, changed);
    const [outcome] = await recheckFiles([file]);
    expect(outcome).toMatchObject({ file: { path: file.path, ino: file.ino, root: rootOf(changed) } });
    expect(outcome && "leaves" in outcome && outcome.leaves?.length).toBe(32 * 2);
  });

  it("keeps a registered symlink that still leads to the same file", async () => {
    const target = tempPath("target.bin");
    await writeFile(target, randomBytes(1000));
    const path = tempPath("link.bin");
    await symlink(target, path);
    const file = { path, ...(await fingerprintFile(path)), hashedAt: 0 };
    const [outcome] = await recheckFiles([file]);
    expect(outcome).toMatchObject({ file: { path, root: file.root } });
  });
});
