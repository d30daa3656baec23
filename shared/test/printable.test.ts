import { describe, expect, it } from "vitest";
import { printable, printableProse, sanitizeProse } from "../src/index.ts";

describe("printable", () => {
  it("escapes what would drive a terminal or fool the eye, and doubles backslashes", () => {
    expect(printable("a\nb\u001b[2J\\c")).toBe("a\\nb\\x1b[2J\\\\c");
    expect(printable("evil\u202egpj.exe")).toBe("evil\\u202egpj.exe");
    expect(printable("x\u061cy")).toBe("x\\u061cy");
    expect(printable("\ud800x")).toBe("\\ud800x");
    expect(printable("ok/ä/日本/😀")).toBe("ok/ä/日本/😀");
  });
});

describe("prose from elsewhere", () => {
  it("is sanitised once where it arrives and then shown without a second round of escapes", () => {
    const remote = sanitizeProse("no such file: C:\\data\\x\u001b]0;owned\u0007\nforged : line");
    expect(remote).toBe("no such file: C:\\data\\x\ufffd]0;owned\ufffd\ufffdforged : line");
    expect(printableProse(`cannot download: ${remote}`)).toBe(`cannot download: ${remote}`);
  });

  it("keeps this peer's own line breaks and escapes any other control character", () => {
    expect(printableProse("nothing was registered:\n  /a: missing\u001b")).toBe("nothing was registered:\n  /a: missing\\x1b");
  });
});
