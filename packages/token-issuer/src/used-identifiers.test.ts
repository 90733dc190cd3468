import { describe, expect, it } from "vitest";
import { MemoryUsedIdentifiers, ReplayQuotaError } from "./used-identifiers.js";

describe("MemoryUsedIdentifiers", () => {
  it("refuses an identifier seen before until it expires", async () => {
    const cache = new MemoryUsedIdentifiers();
    expect(await cache.use("client", "a", 2000, 1000)).toBe(true);
    expect(await cache.use("client", "a", 2000, 1999)).toBe(false);
    expect(await cache.use("client", "a", 3000, 2000)).toBe(true);
  });

  it("keeps each client's identifiers apart", async () => {
    const cache = new MemoryUsedIdentifiers();
    expect(await cache.use("one", "a", 2000, 1000)).toBe(true);
    expect(await cache.use("two", "a", 2000, 1000)).toBe(true);
  });

  it("forgets expired identifiers as it goes, so legitimate traffic does not fill it", async () => {
    const cache = new MemoryUsedIdentifiers(100_000);
    for (let i = 0; i < 5000; i++) await cache.use("client", `jti-${i}`, i + 10, i);
    expect(cache.size).toBeLessThan(1100);
  });

  it("refuses rather than forgets a live identifier when full", async () => {
    const cache = new MemoryUsedIdentifiers(2, 2);
    await cache.use("one", "a", 10_000, 0);
    await cache.use("two", "b", 10_000, 0);
    await expect(cache.use("three", "c", 10_000, 0)).rejects.toThrow(RangeError);
  });

  it("refuses a client that holds its whole share, and only that client", async () => {
    const cache = new MemoryUsedIdentifiers(100, 10);
    for (let i = 0; i < 10; i++) await cache.use("flooder", `jti-${i}`, 10_000, 0);
    await expect(cache.use("flooder", "jti-10", 10_000, 0)).rejects.toThrow(ReplayQuotaError);
    expect(await cache.use("order-service", "jti-0", 10_000, 0)).toBe(true);
    // once the flooder's identifiers expire, it has its share back
    expect(await cache.use("flooder", "jti-11", 20_000, 10_000)).toBe(true);
  });
});
