import { describe, expect, it } from "vitest";
import { ProtocolFailure, parseReplyEnvelope, readResult } from "../src/index.ts";

describe("replies", () => {
  it("reads results and errors", () => {
    expect(parseReplyEnvelope('{"id":3,"ok":true,"result":{"users":[]}}')).toEqual({ id: 3, ok: true, result: { users: [] } });
    expect(parseReplyEnvelope('{"id":null,"ok":false,"error":{"code":"bad-json","message":"m"}}')).toMatchObject({
      ok: false,
      error: { code: "bad-json" },
    });
  });

  it("refuses error codes outside the closed set", () => {
    expect(() => parseReplyEnvelope('{"id":1,"ok":false,"error":{"code":"whatever","message":"m"}}')).toThrow(ProtocolFailure);
  });

  it("checks the result shape for the request type", () => {
    expect(readResult("list-users", { users: [{ user: "u", host: "h", port: 1 }] })).toEqual({
      users: [{ user: "u", host: "h", port: 1 }],
    });
    expect(() => readResult("list-users", { users: [{ user: "u", host: "h", port: "1" }] })).toThrow(/port/);
    expect(() => readResult("list-files", { files: [{ user: "u", path: "rel", size: 1, root: "0".repeat(64) }] })).toThrow(
      /not absolute/,
    );
  });
});
