/** Property tests: whatever arrives, parseRequest answers with a request or a specific error, never a crash. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, MAX_FILES_PER_MESSAGE, parseRequest, PROTOCOL_VERSION, type TrackerRequest } from "../src/index.ts";

const userName = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
const absolutePath = fc.string({ minLength: 1, maxLength: 200 }).filter((s) => !s.includes("\0")).map((s) => `/${s}`);
const fileEntry = fc.record({
  path: absolutePath,
  size: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  root: fc.stringMatching(/^[0-9a-f]{64}$/),
});
const id = fc.oneof(fc.nat(), fc.string({ minLength: 1, maxLength: 64 }));

const validRequest: fc.Arbitrary<TrackerRequest> = fc.oneof(
  fc.record({ id, type: fc.constant("hello" as const), port: fc.integer({ min: 1, max: 65535 }), protocol: fc.constant(PROTOCOL_VERSION) }),
  fc.record({ id, type: fc.constant("register" as const), user: userName, files: fc.array(fileEntry, { maxLength: 20 }) }),
  fc.record({ id, type: fc.constant("unregister" as const), user: userName, paths: fc.array(absolutePath, { minLength: 1, maxLength: 20 }) }),
  fc.record({ id, type: fc.constant("list-files" as const) }),
  fc.record({ id, type: fc.constant("list-users" as const) }),
);

describe("parseRequest properties", () => {
  it("accepts every valid request unchanged", () => {
    fc.assert(
      fc.property(validRequest, (request) => {
        expect(parseRequest(JSON.stringify(request))).toEqual({ ok: true, request });
      }),
    );
  });

  it("answers any string with a request or an error from the closed set", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.jsonValue().map((v) => JSON.stringify(v))), (raw) => {
        const parsed = parseRequest(raw);
        if (!parsed.ok) {
          expect(ERROR_CODES).toContain(parsed.error.code);
          expect(parsed.error.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("answers mutated valid requests with a request or a specific error", () => {
    const mutated = fc.tuple(validRequest, fc.string({ maxLength: 12 }), fc.anything()).map(([request, key, value]) => {
      const copy: Record<string, unknown> = { ...request };
      copy[key in copy ? key : (Object.keys(copy)[key.length % Object.keys(copy).length] ?? "id")] = value;
      return copy;
    });
    fc.assert(
      fc.property(mutated, (message) => {
        let raw: string;
        try {
          raw = JSON.stringify(message);
        } catch {
          return; // not representable as JSON (e.g. a BigInt)
        }
        if (raw === undefined) return;
        const parsed = parseRequest(raw);
        if (!parsed.ok) expect(ERROR_CODES).toContain(parsed.error.code);
      }),
      { numRuns: 2000 },
    );
  });

  it("never accepts more files than one message may carry", () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_FILES_PER_MESSAGE + 1, max: MAX_FILES_PER_MESSAGE + 50 }), (count) => {
        const paths = Array.from({ length: count }, (_, i) => `/f${i}`);
        expect(parseRequest(JSON.stringify({ id: 1, type: "unregister", user: "u", paths }))).toMatchObject({
          ok: false,
          error: { code: "too-many-files" },
        });
      }),
      { numRuns: 20 },
    );
  });
});
