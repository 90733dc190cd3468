import { describe, expect, it } from "vitest";
import { ReplayCache, ReplayQuotaError } from "./replay-cache.js";

describe("ReplayCache", () => {
  it("refuses an identifier seen before until it expires", () => {
    const cache = new ReplayCache();
    expect(cache.use("client", "a", 2000, 1000)).toBe(true);
    expect(cache.use("client", "a", 2000, 1999)).toBe(false);
    expect(cache.use("client", "a", 3000, 2000)).toBe(true);
  });

  it("keeps each client's identifiers apart", () => {
    const cache = new ReplayCache();
    expect(cache.use("one", "a", 2000, 1000)).toBe(true);
    expect(cache.use("two", "a", 2000, 1000)).toBe(true);
  });

  it("forgets expired identifiers as it goes, so legitimate traffic does not fill it", () => {
    const cache = new ReplayCache(100_000);
    for (let i = 0; i < 5000; i++) cache.use("client", `jti-${i}`, i + 10, i);
    expect(cache.size).toBeLessThan(1100);
  });

  it("refuses rather than forgets a live identifier when full", () => {
    const cache = new ReplayCache(2, 2);
    cache.use("one", "a", 10_000, 0);
    cache.use("two", "b", 10_000, 0);
    expect(() => cache.use("three", "c", 10_000, 0)).toThrow(RangeError);
  });

  it("refuses a client that holds its whole share, and only that client", () => {
    const cache = new ReplayCache(100, 10);
    for (let i = 0; i < 10; i++) cache.use("flooder", `jti-${i}`, 10_000, 0);
    expect(() => cache.use("flooder", "jti-10", 10_000, 0)).toThrow(ReplayQuotaError);
    expect(cache.use("order-service", "jti-0", 10_000, 0)).toBe(true);
    // once the flooder's identifiers expire, it has its share back
    expect(cache.use("flooder", "jti-11", 20_000, 10_000)).toBe(true);
  });
});
