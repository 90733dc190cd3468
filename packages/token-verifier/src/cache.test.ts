import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createVerifier, InvalidTokenError, type TokenVerifier, type VerifierOptions } from "./index.js";
import { TokenCache } from "./token-cache.js";
import { FakeClock, FakeIssuer, makeKey, settle } from "./testing/fake-issuer.js";

let issuer: FakeIssuer;
let clock: FakeClock;

beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});
beforeEach(() => {
  clock = new FakeClock();
  issuer.published = [issuer.key.jwk];
});
afterEach(() => {
  vi.restoreAllMocks();
});

function verifier(options: Partial<VerifierOptions> = {}): TokenVerifier {
  return createVerifier({ issuer: issuer.issuer, audience: "payment-service", clock: clock.now, ...options });
}

const mint = (options: Parameters<FakeIssuer["mint"]>[0] = {}) => issuer.mint({ nowSec: clock.sec, ...options });

describe("the cache of verified tokens", () => {
  it("skips the signature check when the same token comes again", async () => {
    const v = verifier();
    const token = await mint();
    const signatureChecks = vi.spyOn(crypto.subtle, "verify");
    const first = await v.verify(token);
    const second = await v.verify(token);
    expect(first.cached).toBe(false);
    expect(second.cached).toBe(true);
    expect(second.claims).toBe(first.claims);
    expect(signatureChecks).toHaveBeenCalledTimes(1);
    expect(v.cacheSize).toBe(1);
  });

  it("still checks exp against the clock on a hit", async () => {
    const v = verifier();
    const token = await mint({ claims: { exp: clock.sec + 60 } });
    await v.verify(token);
    clock.advance(64);
    expect((await v.verify(token)).cached).toBe(true);
    clock.advance(2);
    const error = await settle(v.verify(token));
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).description).toBe("the access token has expired");
    expect(v.cacheSize).toBe(0);
  });

  it("still checks nbf and iat on a hit, should the clock step back", async () => {
    const v = verifier();
    const token = await mint({ claims: { nbf: clock.sec } });
    await v.verify(token);
    clock.advance(-60);
    const error = await settle(v.verify(token));
    expect((error as InvalidTokenError).description).toBe("the access token is not valid yet");
  });

  it("is flushed when the issuer's key set changes", async () => {
    const v = verifier();
    const token = await mint();
    await v.verify(token);
    expect((await v.verify(token)).cached).toBe(true);

    const next = await makeKey("ES256"); // a fast key: its algorithm is not the point here
    issuer.published = [issuer.key.jwk, next.jwk];
    clock.advance(11); // past the cooldown
    await v.verify(await mint({ key: next }));
    const again = await v.verify(token);
    expect(again.cached).toBe(false);
  });

  it("is not flushed by a refetch that finds the same keys", async () => {
    const v = verifier();
    const token = await mint();
    await v.verify(token);
    clock.advance(11);
    await settle(v.verify(await mint({ header: { kid: "unknown" } })));
    expect((await v.verify(token)).cached).toBe(true);
  });

  it("holds at most cacheMaxEntries tokens, dropping the least recently used", async () => {
    const v = verifier({ cacheMaxEntries: 3 });
    const tokens = await Promise.all([1, 2, 3, 4].map((n) => mint({ claims: { jti: `t${n}` } })));
    for (const token of tokens.slice(0, 3)) await v.verify(token);
    await v.verify(tokens[0] as string); // t1 is now the most recently used
    await v.verify(tokens[3] as string); // evicts t2
    expect(v.cacheSize).toBe(3);
    expect((await v.verify(tokens[0] as string)).cached).toBe(true);
    expect((await v.verify(tokens[1] as string)).cached).toBe(false);
  });

  it("never holds a token that failed verification, so bogus tokens cannot grow it", async () => {
    const v = verifier();
    const good = await mint();
    await v.verify(good);
    const [h, p] = good.split(".");
    for (let i = 0; i < 200; i++) {
      const forged = `${h}.${p}.${Buffer.from(`forged-${i}`).toString("base64url")}`;
      expect(await settle(v.verify(forged))).toBeInstanceOf(InvalidTokenError);
    }
    expect(v.cacheSize).toBe(1);
  });

  it("can be turned off", async () => {
    const v = verifier({ cacheMaxEntries: 0 });
    const token = await mint();
    await v.verify(token);
    expect((await v.verify(token)).cached).toBe(false);
    expect(v.cacheSize).toBe(0);
  });

  it("hands out frozen claims, so one request cannot alter what the next one sees", async () => {
    const v = verifier();
    const token = await mint({ claims: { extra: { nested: 1 } } });
    const { claims } = await v.verify(token);
    expect(() => {
      (claims as Record<string, unknown>).scope = "charge:read admin";
    }).toThrow(TypeError);
    expect(() => {
      (claims.extra as Record<string, unknown>).nested = 2;
    }).toThrow(TypeError);
  });
});

describe("TokenCache", () => {
  it("keeps insertion bounded and evicts the oldest first", () => {
    const cache = new TokenCache<number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    cache.set("c", 3);
    expect(cache.size).toBe(2);
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("b")).toBe(2);
    cache.set("d", 4); // b was used after c: c goes
    expect(cache.get("c")).toBeUndefined();
    expect(cache.get("b")).toBe(2);
  });
});
