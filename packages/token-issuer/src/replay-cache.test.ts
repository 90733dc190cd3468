import { describe, expect, it } from "vitest";
import { ReplayCache } from "./replay-cache.js";

describe("ReplayCache", () => {
  it("refuses an identifier seen before until it expires", () => {
    const cache = new ReplayCache();
    expect(cache.use("a", 2000, 1000)).toBe(true);
    expect(cache.use("a", 2000, 1999)).toBe(false);
    expect(cache.use("a", 3000, 2000)).toBe(true);
  });

  it("forgets expired identifiers as it goes, so legitimate traffic does not fill it", () => {
    const cache = new ReplayCache(100_000);
    for (let i = 0; i < 5000; i++) cache.use(`jti-${i}`, i + 10, i);
    expect(cache.size).toBeLessThan(1100);
  });

  it("refuses rather than forgets a live identifier when full", () => {
    const cache = new ReplayCache(2);
    cache.use("a", 10_000, 0);
    cache.use("b", 10_000, 0);
    expect(() => cache.use("c", 10_000, 0)).toThrow(RangeError);
  });
});
