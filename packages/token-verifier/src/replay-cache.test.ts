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

describe("ReplayCache at its lines", () => {
  it("takes a maxEntries of one or more, whole; refuses anything else", () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new ReplayCache(maxEntries, 1_000), String(maxEntries)).toThrow(new TypeError("maxEntries must be a positive integer"));
    }
    const one = new ReplayCache(1, 1_000);
    expect(one.use("key", "a", 0)).toBe(true);
    expect(() => one.use("key", "b", 0)).toThrow(ReplayCacheFullError);
  });

  it("keeps key and jti apart: the same characters split another way are another proof", () => {
    const cache = new ReplayCache(10, 1_000);
    expect(cache.use("ab", "c", 0)).toBe(true);
    expect(cache.use("a", "bc", 0)).toBe(true);
    expect(cache.use("abc", "", 0)).toBe(true);
    expect(cache.size).toBe(3);
  });

  it("says when room comes back, in whole seconds, at least one", () => {
    const cache = new ReplayCache(1, 10_000);
    cache.use("key", "a", 0);
    const retryAfter = (now: number) => {
      try {
        cache.use("key", `at-${now}`, now);
      } catch (error) {
        expect(error).toBeInstanceOf(ReplayCacheFullError);
        expect((error as ReplayCacheFullError).name).toBe("ReplayCacheFullError");
        expect((error as ReplayCacheFullError).message).toBe("the DPoP replay cache is full");
        return (error as ReplayCacheFullError).retryAfterSeconds;
      }
      return "taken";
    };
    expect(retryAfter(0)).toBe(10);
    expect(retryAfter(1)).toBe(10);
    expect(retryAfter(1_000)).toBe(9);
    expect(retryAfter(9_001)).toBe(1);
    expect(retryAfter(9_999)).toBe(1);
    expect(retryAfter(10_000)).toBe("taken");
  });

  it("drops the expired proofs at the front and keeps the live ones behind them", () => {
    const cache = new ReplayCache(10, 1_000);
    cache.use("key", "a", 0);
    cache.use("key", "b", 500);
    cache.use("key", "c", 900);
    expect(cache.use("key", "d", 1_000)).toBe(true);
    expect(cache.size).toBe(3); // a is gone, b, c and d are live
    expect(cache.use("key", "b", 1_000)).toBe(false);
    expect(cache.use("key", "c", 1_499)).toBe(false);
    expect(cache.use("key", "d", 1_500)).toBe(false);
    expect(cache.size).toBe(2); // b went at 1 500
  });
});
