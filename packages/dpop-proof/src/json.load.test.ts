// json.ts makes its strict UTF-8 decoder when it loads. A decoder it cannot
// make fails every test file that imports json.ts before any of its tests
// runs; loaded here inside a test, the failure is this test's.
import { describe, expect, it } from "vitest";

describe("json.ts", () => {
  it("loads, and decodes bytes as strict UTF-8", async () => {
    const { parseJsonObject } = await import("./json.js");
    expect(parseJsonObject(new TextEncoder().encode('{"é":"€"}'))).toEqual({ "é": "€" });
    expect(parseJsonObject(Uint8Array.of(0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d))).toBeUndefined();
  });
});
