import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createVerifier,
  InvalidTokenError,
  TemporarilyUnavailableError,
  type JwksLoadedEvent,
  type TokenVerifier,
  type VerifierOptions,
} from "./index.js";
import { KeySourceError } from "./fetch-json.js";
import { FakeClock, FakeIssuer, makeKey, settle, type TestKey } from "./testing/fake-issuer.js";

let issuer: FakeIssuer;
let clock: FakeClock;
let loaded: JwksLoadedEvent[];
let failures: Error[];
let key: TestKey;

beforeAll(async () => {
  key = await makeKey();
});
beforeEach(async () => {
  issuer = await FakeIssuer.start(key);
  clock = new FakeClock();
  loaded = [];
  failures = [];
});
afterEach(async () => {
  await issuer.close();
});

function verifier(options: Partial<VerifierOptions> = {}): TokenVerifier {
  return createVerifier({
    issuer: issuer.issuer,
    audience: "payment-service",
    clock: clock.now,
    onJwksLoaded: (event) => loaded.push(event),
    onJwksError: (error) => failures.push(error),
    ...options,
  });
}

const mint = (options: Parameters<FakeIssuer["mint"]>[0] = {}) => issuer.mint({ nowSec: clock.sec, ...options });

describe("discovery (RFC 8414)", () => {
  it("finds jwks_uri in the issuer's metadata, then loads the keys", async () => {
    const v = verifier();
    expect(v.ready).toBe(false);
    await v.load();
    expect(v.ready).toBe(true);
    expect(v.kids).toEqual([issuer.key.kid]);
    expect(issuer.hits).toEqual({ metadata: 1, jwks: 1 });
    expect(loaded).toEqual([{ kids: [issuer.key.kid], changed: true, jwksUri: `${issuer.url}/jwks.json`, reason: "load" }]);
  });

  it("refuses metadata whose issuer is not the expected one (RFC 8414 §3.3)", async () => {
    issuer.advertisedIssuer = "http://evil.example";
    const v = verifier();
    const error = await settle(v.load());
    expect(error).toBeInstanceOf(KeySourceError);
    expect((error as Error).message).toContain("RFC 8414 §3.3");
    expect(issuer.hits.jwks).toBe(0);
    expect(v.ready).toBe(false);
  });

  it("derives the metadata URL from the issuer when none is given", async () => {
    const v = createVerifier({ issuer: issuer.issuer, audience: "payment-service", clock: clock.now });
    await v.load();
    expect(issuer.hits.metadata).toBe(1);
  });

  it("can skip discovery when given jwks_uri", async () => {
    const v = verifier({ jwksUri: `${issuer.url}/jwks.json` });
    await v.verify(await mint());
    expect(issuer.hits).toEqual({ metadata: 0, jwks: 1 });
  });

  it("gives up on an issuer that does not answer within the timeout", async () => {
    issuer.mode = "hang";
    const error = await settle(verifier({ timeoutMs: 100 }).load());
    expect(error).toBeInstanceOf(KeySourceError);
    expect((error as Error).message).toMatch(/no answer within 100 ms/);
  });

  it("refuses a JWK Set with no usable public signature key, and keeps the keys it had", async () => {
    const v = verifier();
    await v.load();
    issuer.published = [{ kty: "oct", k: "c2VjcmV0", kid: "hmac", alg: "HS256" }];
    const error = await settle(v.load());
    expect(error).toBeInstanceOf(KeySourceError);
    expect(v.kids).toEqual([issuer.key.kid]);
  });

  it("never uses a private or symmetric key published by mistake", async () => {
    const v = verifier();
    issuer.published = [issuer.key.jwk, { kty: "oct", k: "c2VjcmV0", kid: "hmac" }, { ...issuer.key.jwk, kid: "priv", d: "xyz" }];
    await v.load();
    expect(v.kids).toEqual([issuer.key.kid]);
  });
});

describe("one fetch in flight", () => {
  it("answers fifty concurrent first requests with a single metadata and JWK Set fetch", async () => {
    const v = verifier();
    const token = await mint();
    const results = await Promise.all(Array.from({ length: 50 }, () => v.verify(token)));
    expect(results).toHaveLength(50);
    expect(issuer.hits).toEqual({ metadata: 1, jwks: 1 });
  });
});

describe("through a JWK Set outage", () => {
  it("keeps verifying tokens signed by keys it holds, and tries a refresh in the background once they are old", async () => {
    const v = verifier();
    await v.load();
    issuer.mode = "fail";
    clock.advance(61);
    const token = await mint();
    await expect(v.verify(token)).resolves.toMatchObject({ claims: { sub: "order-service" } });
    await waitFor(() => failures.length === 1);
    expect(issuer.hits.metadata).toBe(1); // the refresh reused the discovered jwks_uri
    expect(issuer.hits.jwks).toBe(2);
    await expect(v.verify(await mint())).resolves.toBeDefined();
    expect(v.ready).toBe(true);
  });

  it("answers 503 temporarily_unavailable, not invalid_token, for an unknown kid it cannot look up", async () => {
    const v = verifier();
    await v.load();
    issuer.mode = "fail";
    const next = await makeKey("ES256"); // a fast key: its algorithm is not the point here
    const error = await settle(v.verify(await mint({ key: next })));
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as TemporarilyUnavailableError).status).toBe(503);
    expect((error as TemporarilyUnavailableError).headers).toEqual({ "Retry-After": "10" });
    expect((error as TemporarilyUnavailableError).toJSON()).toEqual({ error: "temporarily_unavailable" });
  });

  it("keeps answering 503 for that kid during the cooldown without asking the issuer again, then recovers", async () => {
    const v = verifier();
    await v.load();
    issuer.mode = "fail";
    const next = await makeKey("ES256"); // a fast key: its algorithm is not the point here
    const token = await mint({ key: next });
    await settle(v.verify(token));
    const hits = issuer.hits.jwks;
    clock.advance(4);
    const again = await settle(v.verify(token));
    expect(again).toBeInstanceOf(TemporarilyUnavailableError);
    expect((again as TemporarilyUnavailableError).headers["Retry-After"]).toBe("6");
    expect(issuer.hits.jwks).toBe(hits);

    issuer.mode = "ok";
    issuer.published = [issuer.key.jwk, next.jwk];
    clock.advance(6);
    await expect(v.verify(token)).resolves.toMatchObject({ header: { kid: next.kid } });
  });

  it("answers 503 while no key set has ever been loaded, and works once the issuer is back", async () => {
    issuer.mode = "fail";
    const v = verifier();
    const token = await mint();
    expect(await settle(v.verify(token))).toBeInstanceOf(TemporarilyUnavailableError);
    expect(await settle(v.verify(token))).toBeInstanceOf(TemporarilyUnavailableError);
    expect(issuer.hits.metadata).toBe(1); // the second request did not ask again
    issuer.mode = "ok";
    clock.advance(10);
    await expect(v.verify(token)).resolves.toBeDefined();
    expect(v.ready).toBe(true);
  });
});

describe("the maximum age of the keys", () => {
  it("hardening #7: is 60 s by default, enforced even when every request is a cache hit: a withdrawn key stops being trusted", async () => {
    const v = verifier();
    const token = await mint();
    await v.verify(token);
    expect((await v.verify(token)).cached).toBe(true);

    const next = await makeKey("ES256");
    issuer.published = [next.jwk]; // the issuer withdraws the key that signed `token`
    clock.advance(61);
    expect((await v.verify(token)).cached).toBe(true); // still served, and a refresh starts behind it
    await waitFor(() => loaded.some((event) => event.reason === "max-age"));
    expect(await settle(v.verify(token))).toBeInstanceOf(InvalidTokenError);
    expect(v.kids).toEqual([next.kid]);
  });
});

describe("the maximum staleness of the keys, through an outage", () => {
  it("hardening #7: after 10 min without a fetch that worked, answers 503 and is not ready, cached tokens included; accepts again once the issuer is back", async () => {
    const v = verifier();
    const token = await mint({ claims: { exp: clock.sec + 3600 } });
    await v.verify(token);
    issuer.mode = "fail";
    clock.advance(599);
    expect((await v.verify(token)).cached).toBe(true); // the outage is ours: the keys held still serve
    expect(v.ready).toBe(true);

    clock.advance(2); // 601 s since the last fetch that worked
    const error = await settle(v.verify(token));
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    expect((error as TemporarilyUnavailableError).headers).toEqual({ "Retry-After": "10" });
    expect(v.ready).toBe(false);

    issuer.mode = "ok";
    clock.advance(10); // past the cooldown of the fetch that request made
    await expect(v.verify(token)).resolves.toMatchObject({ claims: { sub: "order-service" } });
    expect(v.ready).toBe(true);
  });

  it("hardening #7: takes maxStaleMs, which may not be shorter than maxAgeMs", async () => {
    const v = verifier({ maxStaleMs: 120_000 });
    const token = await mint();
    await v.verify(token);
    issuer.mode = "fail";
    clock.advance(121);
    expect(await settle(v.verify(token))).toBeInstanceOf(TemporarilyUnavailableError);
    expect(() => verifier({ maxAgeMs: 60_000, maxStaleMs: 59_999 })).toThrow(/maxStaleMs/);
  });
});

describe("refetching for an unknown kid", () => {
  it("picks up a key published after the last fetch (rotation), right after start", async () => {
    const v = verifier();
    await v.load();
    const next = await makeKey("ES256"); // a fast key: its algorithm is not the point here
    issuer.published = [issuer.key.jwk, next.jwk];
    await expect(v.verify(await mint({ key: next }))).resolves.toMatchObject({ header: { kid: next.kid } });
    expect(loaded.at(-1)).toMatchObject({ reason: "unknown-kid", changed: true, kids: [issuer.key.kid, next.kid] });
  });

  it("asks the issuer at most once per cooldown, however many bogus kids arrive", async () => {
    const v = verifier();
    await v.load();
    const bogus = await makeKey("ES256");
    const tokens = await Promise.all(Array.from({ length: 40 }, (_, i) => mint({ key: bogus, header: { kid: `bogus-${i}` } })));
    const errors = await Promise.all(tokens.map((token) => settle(v.verify(token))));
    expect(errors.every((e) => e instanceof InvalidTokenError)).toBe(true);
    expect(issuer.hits.jwks).toBe(2); // the load, and one refetch

    for (const token of tokens) expect(await settle(v.verify(token))).toBeInstanceOf(InvalidTokenError);
    expect(issuer.hits.jwks).toBe(2);

    clock.advance(10);
    await settle(v.verify(tokens[0] as string));
    expect(issuer.hits.jwks).toBe(3);
  });

  it("does not refetch for a known kid whose alg does not match", async () => {
    const v = verifier();
    await v.load();
    const impostor = await makeKey("PS256", issuer.key.kid);
    expect(await settle(v.verify(await mint({ key: impostor })))).toBeInstanceOf(InvalidTokenError);
    expect(issuer.hits.jwks).toBe(1);
  });

  it("forgets a key the issuer no longer publishes once it refetches", async () => {
    const v = verifier();
    const old = issuer.key;
    const oldToken = await mint();
    await v.verify(oldToken);
    clock.advance(10); // past the cooldown the first (on-demand) load started
    const next = await makeKey("ES256"); // a fast key: its algorithm is not the point here
    issuer.published = [next.jwk];
    await v.verify(await mint({ key: next }));
    expect(v.kids).toEqual([next.kid]);
    const error = await settle(v.verify(oldToken));
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(old.kid).not.toBe(next.kid);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}
