import { describe, expect, it } from "vitest";
import { ProtocolFailure, isReachabilityPush, parseReachabilityReport, parseReplyEnvelope, readResult } from "../src/index.ts";

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
    expect(readResult("list-users", { users: [{ user: "u", host: "h", port: 1, reachable: false }] })).toEqual({
      users: [{ user: "u", host: "h", port: 1, reachable: false }],
    });
    // A tracker from before reachability probes: not known.
    expect(readResult("list-users", { users: [{ user: "u", host: "h", port: 1 }] })).toEqual({
      users: [{ user: "u", host: "h", port: 1, reachable: null }],
    });
    expect(() => readResult("list-users", { users: [{ user: "u", host: "h", port: 1, reachable: "yes" }] })).toThrow(/reachable/);
    expect(() => readResult("list-users", { users: [{ user: "u", host: "h", port: "1" }] })).toThrow(/port/);
    expect(() => readResult("list-files", { files: [{ user: "u", path: "rel", size: 1, root: "0".repeat(64) }] })).toThrow(
      /not absolute/,
    );
  });
});

describe("reachability reports", () => {
  const report = { type: "reachability", reachable: false, host: "203.0.113.5", port: 4000, advertised: "192.168.1.20", reason: "no answer within 3 s" };

  it("are told apart from replies by their first bytes, and read in full", () => {
    const text = JSON.stringify(report);
    expect(isReachabilityPush(text)).toBe(true);
    expect(isReachabilityPush('{"id":1,"ok":true,"result":{}}')).toBe(false);
    expect(parseReachabilityReport(text)).toEqual(report);
  });

  it("refuse a malformed report, and make the tracker's words safe to print", () => {
    expect(() => parseReachabilityReport(JSON.stringify({ ...report, reachable: "no" }))).toThrow(ProtocolFailure);
    expect(() => parseReachabilityReport(JSON.stringify({ ...report, host: "bad host" }))).toThrow(ProtocolFailure);
    expect(() => parseReachabilityReport(JSON.stringify({ ...report, port: 0 }))).toThrow(ProtocolFailure);
    expect(parseReachabilityReport(JSON.stringify({ ...report, reason: "\u001b[2Jgone" })).reason).toBe("\\x1b[2Jgone");
  });
});
