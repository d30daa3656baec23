/**
 * Property test inside workerd: whatever peers do (register, unregister,
 * leave, move their mini-server), a copy of the catalog made from one
 * snapshot and then only the change sets `sync` sends equals the tracker's
 * full listings, however many changes each copy skipped before asking.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { update, type Copy } from "./catalog-copy.ts";
import { TrackerSocket, eventually, file } from "./tracker-socket.ts";

const SLOTS = 3;
const PATHS = ["/a", "/b", "/c", "/d"];

const op = fc.oneof(
  fc.record({
    op: fc.constant("register" as const),
    slot: fc.nat(SLOTS - 1),
    files: fc.array(fc.record({ path: fc.constantFrom(...PATHS), root: fc.constantFrom("1", "2") }), { maxLength: 3 }),
  }),
  fc.record({ op: fc.constant("unregister" as const), slot: fc.nat(SLOTS - 1), paths: fc.subarray(PATHS, { minLength: 1 }) }),
  fc.record({ op: fc.constant("leave" as const), slot: fc.nat(SLOTS - 1), reuse: fc.boolean() }),
  fc.record({ op: fc.constant("move" as const), slot: fc.nat(SLOTS - 1), port: fc.integer({ min: 7000, max: 7003 }) }),
  fc.record({ op: fc.constant("sync" as const), copy: fc.nat(SLOTS - 1) }),
);

/** The copy against the full listings, taken at one version (a close processed meanwhile moves it: then again). */
async function expectEqual(observer: TrackerSocket, start: Copy): Promise<void> {
  let copy = await update(observer, start);
  for (;;) {
    const files = (await observer.ok("list-files", {})).files;
    const users = (await observer.ok("list-users", {})).users;
    const again = await update(observer, copy);
    if (again.version === copy.version) {
      expect(copy.catalog.fileList()).toEqual(files);
      expect(copy.catalog.userList()).toEqual(users);
      return;
    }
    copy = again;
  }
}

let run = 0;

describe("sync", () => {
  it("a snapshot and then any run of change sets gives exactly the tracker's listings", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 25 }), async (ops) => {
        run++;
        // A socket per run: one for all runs would spend its message budget.
        const observer = await TrackerSocket.hello();
        const sockets: (TrackerSocket | null)[] = Array(SLOTS).fill(null);
        const generation = Array(SLOTS).fill(0);
        const name = (slot: number) => `prop-${run}-${slot}-${generation[slot]}`;
        const socketOf = async (slot: number) => (sockets[slot] ??= await TrackerSocket.hello(7000));
        const copies: Copy[] = [];
        for (let i = 0; i < SLOTS; i++) copies.push(await update(observer, null));
        for (const step of ops) {
          switch (step.op) {
            case "register":
              await (await socketOf(step.slot)).ok("register", { user: name(step.slot), files: step.files.map((f) => file(f.path, 1, f.root)) });
              break;
            case "unregister":
              // Refused when the slot holds no name yet: that changes nothing either.
              await (await socketOf(step.slot)).request("unregister", { user: name(step.slot), paths: step.paths });
              break;
            case "leave": {
              const leaving = sockets[step.slot];
              if (!leaving) break;
              await leaving.close();
              sockets[step.slot] = null;
              // Half the time the name comes back once the tracker has seen the close (gone, then new), else a new name.
              if (step.reuse) await eventually(async () => !(await observer.ok("list-users", {})).users.some((u: { user: string }) => u.user === name(step.slot)), "the close");
              else generation[step.slot]++;
              break;
            }
            case "move":
              await (await socketOf(step.slot)).ok("hello", { port: step.port, protocol: 2 });
              break;
            case "sync":
              copies[step.copy] = await update(observer, copies[step.copy]!);
              break;
          }
        }
        for (const copy of copies) await expectEqual(observer, copy);
        await Promise.all([...sockets, observer].map((s) => s?.close()));
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
