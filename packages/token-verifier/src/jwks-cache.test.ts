import { generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
import { TemporarilyUnavailableError } from "./errors.js";
import { KeySourceError } from "./fetch-json.js";
import { JwksCache, type JwksCacheOptions } from "./jwks-cache.js";

// JwksCache's clocks at their lines, with an in-memory key source and a
// clock moved by hand: when it refreshes, when it waits, when it stops
// trusting what it holds.
const jwk = (kid: string) => ({ ...(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "jwk" }) as JWK), kid, alg: "ES256" });
const A = jwk("a");
const B = jwk("b");

function source() {
  const state = { keys: [A] as JWK[], failing: false, fetches: 0 };
  const fetch = (async () => {
    state.fetches += 1;
    if (state.failing) throw new TypeError("fetch failed");
    return new Response(JSON.stringify({ keys: state.keys }), { status: 200 });
  }) as unknown as typeof globalThis.fetch;
  return { state, fetch };
}

function cache(fetch: typeof globalThis.fetch, clock: { now: number }, extra: Partial<JwksCacheOptions> = {}) {
  return new JwksCache({
    issuer: "https://as.example",
    metadataUrl: "https://as.example/.well-known/oauth-authorization-server",
    jwksUri: "https://as.example/jwks",
    fetch,
    timeoutMs: 1000,
    cooldownMs: 10_000,
    maxAgeMs: 60_000,
    maxStaleMs: 600_000,
    clock: () => clock.now,
    ...extra,
  });
}
const settled = () => new Promise((resolve) => setTimeout(resolve, 10));

describe("JwksCache at its lines", () => {
  it("refreshes in the background once the keys are maxAgeMs old, not a millisecond before, and never twice at once", async () => {
    const { state, fetch } = source();
    const clock = { now: 1_000_000 };
    const keys = cache(fetch, clock);
    keys.refreshIfOld(); // nothing held yet: nothing to refresh
    expect(state.fetches).toBe(0);
    await keys.load();
    clock.now += 59_999;
    keys.refreshIfOld();
    expect(state.fetches).toBe(1);
    clock.now += 1;
    keys.refreshIfOld();
    keys.refreshIfOld();
    await settled();
    expect(state.fetches).toBe(2);
  });

  it("after a failed refresh, tries again only once the cooldown has passed", async () => {
    const { state, fetch } = source();
    const clock = { now: 1_000_000 };
    const errors: Error[] = [];
    const keys = cache(fetch, clock, { onError: (error) => errors.push(error) });
    await keys.load();
    state.failing = true;
    clock.now += 60_000;
    keys.refreshIfOld();
    await settled();
    expect(state.fetches).toBe(2);
    expect(errors[0]).toBeInstanceOf(KeySourceError);
    clock.now += 9_999;
    keys.refreshIfOld();
    await settled();
    expect(state.fetches).toBe(2);
    clock.now += 1;
    keys.refreshIfOld();
    await settled();
    expect(state.fetches).toBe(3);
  });

  it("stops using its keys maxStaleMs after the last fetch that worked, not a millisecond before", async () => {
    const { state, fetch } = source();
    const clock = { now: 1_000_000 };
    const keys = cache(fetch, clock);
    await keys.load();
    state.failing = true;
    clock.now += 599_999;
    expect(keys.ready).toBe(true);
    clock.now += 1;
    expect(keys.ready).toBe(false);
  });

  it("counts one generation per change of the key set, none for the same set", async () => {
    const { state, fetch } = source();
    const keys = cache(fetch, { now: 1 });
    expect(keys.generation).toBe(0);
    await keys.load();
    expect(keys.generation).toBe(1);
    await keys.load();
    expect(keys.generation).toBe(1);
    state.keys = [A, B];
    await keys.load();
    expect(keys.generation).toBe(2);
    expect(keys.kids.sort()).toEqual(["a", "b"]);
  });

  it("rejects with the KeySourceError when nobody listens for errors", async () => {
    const { state, fetch } = source();
    state.failing = true;
    await expect(cache(fetch, { now: 1 }).load()).rejects.toBeInstanceOf(KeySourceError);
  });

  it("finds the one key for a header without kid, without a refetch", async () => {
    const { state, fetch } = source();
    const keys = cache(fetch, { now: 1_000_000 });
    await keys.load();
    await expect(keys.resolve({ alg: "ES256" })).resolves.toBeDefined();
    expect(state.fetches).toBe(1);
  });
});

describe("JwksCache: where the keys are", () => {
  const ISSUER = "https://as.example";
  const METADATA = `${ISSUER}/.well-known/oauth-authorization-server`;
  /** An issuer whose metadata names state.jwksUri, and whose JWK Set answers 500 while state.failing. */
  function issuer() {
    const state = { jwksUri: `${ISSUER}/jwks`, failing: false, asked: [] as string[] };
    const fetch = (async (url: string) => {
      state.asked.push(url);
      if (url === METADATA) return Response.json({ issuer: ISSUER, jwks_uri: state.jwksUri });
      if (url !== state.jwksUri || state.failing) return new Response("{}", { status: 500 });
      return Response.json({ keys: [A] });
    }) as unknown as typeof globalThis.fetch;
    return { state, fetch };
  }
  const discovering = (fetch: typeof globalThis.fetch, extra: Partial<JwksCacheOptions> = {}) =>
    cache(fetch, { now: 1_000_000 }, { jwksUri: undefined, onError: () => {}, ...extra });

  it("discovers jwks_uri once and reuses it while the JWK Set answers (RFC 8414 §3)", async () => {
    const { state, fetch } = issuer();
    const keys = discovering(fetch);
    await keys.load();
    await keys.load();
    expect(state.asked).toEqual([METADATA, `${ISSUER}/jwks`, `${ISSUER}/jwks`]);
  });

  it("after the JWK Set cannot be had, asks the metadata again: the issuer may have moved its keys", async () => {
    const { state, fetch } = issuer();
    const keys = discovering(fetch);
    await keys.load();
    state.failing = true;
    await expect(keys.load()).rejects.toBeInstanceOf(KeySourceError);
    state.failing = false;
    state.jwksUri = `${ISSUER}/keys/2`;
    state.asked = [];
    await keys.load();
    expect(state.asked).toEqual([METADATA, `${ISSUER}/keys/2`]);
    expect(keys.kids).toEqual(["a"]);
  });

  it("never asks the metadata when jwks_uri is configured, even after a failure", async () => {
    const { state, fetch } = issuer();
    const keys = discovering(fetch, { jwksUri: `${ISSUER}/jwks` });
    await keys.load();
    state.failing = true;
    await expect(keys.load()).rejects.toBeInstanceOf(KeySourceError);
    state.failing = false;
    await keys.load();
    expect(state.asked).toEqual([`${ISSUER}/jwks`, `${ISSUER}/jwks`, `${ISSUER}/jwks`]);
  });

  it("tells onLoaded what it loaded and why, and onError each failure as an Error", async () => {
    const { state, fetch } = issuer();
    const loaded: unknown[] = [];
    const errors: Error[] = [];
    const clock = { now: 1_000_000 };
    const keys = cache(fetch, clock, { jwksUri: undefined, onLoaded: (event) => loaded.push(event), onError: (error) => errors.push(error) });
    await keys.resolve({ alg: "ES256", kid: "a" });
    clock.now += 10_000; // past the cooldown of fetches made for tokens
    await expect(keys.resolve({ alg: "ES256", kid: "b" })).rejects.toThrow("the key that signed the access token is unknown");
    state.failing = true;
    clock.now += 60_000;
    keys.refreshIfOld();
    await settled();
    expect(loaded).toEqual([
      { kids: ["a"], changed: true, jwksUri: `${ISSUER}/jwks`, reason: "load" },
      { kids: ["a"], changed: false, jwksUri: `${ISSUER}/jwks`, reason: "unknown-kid" },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(KeySourceError);
    expect(errors[0]!.message).toBe(`GET ${ISSUER}/jwks: expected 200, got 500`);
  });
});

describe("JwksCache before and after its keys go stale", () => {
  it("holds no kids before the first fetch", () => {
    expect(cache(source().fetch, { now: 1 }).kids).toEqual([]);
  });

  it("fetches again for a token once its keys are maxStaleMs old, and says why: max-age", async () => {
    const { fetch } = source();
    const clock = { now: 1_000_000 };
    const loaded: string[] = [];
    const keys = cache(fetch, clock, { onLoaded: (event) => loaded.push(event.reason) });
    await keys.resolve({ alg: "ES256", kid: "a" });
    clock.now += 600_000;
    await keys.resolve({ alg: "ES256", kid: "a" });
    expect(loaded).toEqual(["load", "max-age"]);
  });

  it("answers a token with 503 when the fetch made for it fails, keeping the fetch's error as the cause", async () => {
    const { state, fetch } = source();
    state.failing = true;
    const keys = cache(fetch, { now: 1_000_000 }, { onError: () => {} });
    const error = await keys.resolve({ alg: "ES256", kid: "a" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as TemporarilyUnavailableError).retryAfterSeconds).toBe(10);
    expect((error as TemporarilyUnavailableError).cause).toBeInstanceOf(KeySourceError);
  });
});
