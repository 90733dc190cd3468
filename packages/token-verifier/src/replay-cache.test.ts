import { describe, expect, it } from "vitest";
import { ReplayCache, ReplayCacheFullError } from "./replay-cache.js";

describe("ReplayCache (RFC 9449 §11.1, per process)", () => {
  it("refuses a jti seen before with the same key, not with another key", () => {
    const cache = new ReplayCache(10, 40_000);
    expect(cache.use("key-a", "jti-1", 0)).toBe(true);
    expect(cache.use("key-a", "jti-1", 1_000)).toBe(false);
    expect(cache.use("key-b", "jti-1", 1_000)).toBe(true);
  });

  it("forgets a proof once it is too old to be accepted anyway, and only then", () => {
    const cache = new ReplayCache(10, 40_000);
    cache.use("key", "jti", 0);
    expect(cache.use("key", "jti", 39_999)).toBe(false);
    expect(cache.use("key", "jti", 40_000)).toBe(true);
  });

  it("stays bounded under a flood of distinct proofs: full of live ones, it refuses rather than forgets", () => {
    const cache = new ReplayCache(1000, 40_000);
    for (let i = 0; i < 1000; i++) expect(cache.use("key", `jti-${i}`, i)).toBe(true);
    expect(() => cache.use("key", "one-more", 1000)).toThrow(ReplayCacheFullError);
    expect(cache.size).toBe(1000);
    // the first of them expires at 40 000 ms: room again, and the flood's old proofs are still refused until then
    expect(cache.use("key", "jti-999", 39_000)).toBe(false);
    expect(cache.use("key", "one-more", 40_000)).toBe(true);
    expect(cache.size).toBe(1000);
  });

  it("remembers a jti of any length by its hash, and still knows it", () => {
    const cache = new ReplayCache(10, 1_000);
    cache.use("key", "x".repeat(10_000), 0);
    expect(cache.use("key", "x".repeat(10_000), 1)).toBe(false);
  });
});
