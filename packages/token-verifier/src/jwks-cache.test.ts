import { generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
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
