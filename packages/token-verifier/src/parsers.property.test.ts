// Property-based tests (fast-check) of every parser the verifier feeds with
// what the network sends: the Authorization header, the token, and the
// metadata and JWK Set documents it fetches. Properties: no input makes them
// throw anything but their own refusal (a BearerError, 401/400, or a
// KeySourceError, which never reaches a client), and equivalent inputs get
// the same answer. A failure prints fast-check's seed and path: rerun with
// `fc.assert(…, { seed, path })` to replay it.
import { generateKeyPairSync } from "node:crypto";
import fc from "fast-check";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
import { ASYMMETRIC_ALGORITHMS } from "./algorithms.js";
import { extractBearerToken } from "./bearer.js";
import { discoverJwksUri } from "./discovery.js";
import { BearerError, InvalidTokenError } from "./errors.js";
import { KeySourceError } from "./fetch-json.js";
import { verifyCompactJws } from "./jws.js";
import { buildKeySet } from "./key-set.js";
import { createVerifier } from "./verifier.js";

// PROPERTY_RUNS_SCALE shrinks every run count (the mutation run sets 0.1: it runs these once per mutant)
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;
const RUNS = runs(3000);
const ASYNC_RUNS = runs(1500);

/** What a thrown value was, for a property: the refusal it should be, or anything else (a bug). */
async function outcome<T>(run: () => Promise<T> | T): Promise<{ value: T } | { error: unknown }> {
  try {
    return { value: await run() };
  } catch (error) {
    return { error };
  }
}

const b64token = fc.stringMatching(/^[A-Za-z0-9\-._~+/]+=*$/);
const anyHeaderText = fc.oneof(fc.string({ unit: "binary" }), fc.string(), b64token.map((t) => `Bearer ${t}`), fc.constantFrom("Bearer", "bearer ", "Basic abc", ""));

describe("extractBearerToken: the Authorization header", () => {
  it("refuses with a BearerError or returns a b64token, whatever the fields", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(undefined), anyHeaderText, fc.array(anyHeaderText, { maxLength: 3 })), fc.boolean(), fc.boolean(), (authorization, tokenInQuery, tokenInBody) => {
        try {
          const token = extractBearerToken({ authorization, tokenInQuery, tokenInBody });
          expect(token).toMatch(/^[A-Za-z0-9\-._~+/]+=*$/);
        } catch (error) {
          expect(error).toBeInstanceOf(BearerError);
        }
      }),
      { numRuns: RUNS * 2 },
    );
  }, PROPERTY_TIMEOUT);

  it("finds the same token whatever the case of the scheme and the spaces around it, in a string or a one-field list", () => {
    const scheme = fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }).map((upper) => [..."bearer"].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));
    fc.assert(
      fc.property(b64token, scheme, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 3 }), (token, name, spaces, trailing) => {
        const field = `${name}${" ".repeat(spaces)}${token}${" ".repeat(trailing)}`;
        expect(extractBearerToken({ authorization: field })).toBe(token);
        expect(extractBearerToken({ authorization: [field] })).toBe(token);
      }),
      { numRuns: RUNS },
    );
  }, PROPERTY_TIMEOUT);
});

// One real key, published for RS256, as the only key of the set
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const publicJwk = { ...(rsa.publicKey.export({ format: "jwk" }) as JWK), kid: "k1", alg: "RS256", use: "sig" };
const keySet = buildKeySet({ keys: [publicJwk] }, "test");

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const headers = fc.record(
  {
    alg: fc.oneof(fc.constantFrom(...ASYMMETRIC_ALGORITHMS, "none", "HS256", "NONE"), fc.string(), fc.integer()),
    kid: fc.oneof(fc.constant("k1"), fc.string(), fc.jsonValue()),
    typ: fc.oneof(fc.constantFrom("at+jwt", "JWT"), fc.jsonValue()),
    crit: fc.array(fc.string(), { maxLength: 2 }),
    b64: fc.boolean(),
    jwk: fc.constant(publicJwk),
  },
  { requiredKeys: [] },
);

describe("verifyCompactJws: the token", () => {
  it("refuses any string of base64url characters and dots with an InvalidTokenError, never anything else", async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9_\-.=+/ ]{0,300}$/), async (token) => {
        const result = await outcome(() => verifyCompactJws(token, (header) => keySet.select(header), ASYMMETRIC_ALGORITHMS));
        expect("error" in result && result.error).toBeInstanceOf(InvalidTokenError);
      }),
      { numRuns: ASYNC_RUNS },
    );
  }, PROPERTY_TIMEOUT);

  it("refuses a header of any members and a signature of any bytes with an InvalidTokenError", async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(headers, fc.jsonValue()), fc.jsonValue(), fc.uint8Array({ maxLength: 300 }), async (header, payload, signature) => {
        const token = `${b64(header)}.${b64(payload)}.${Buffer.from(signature).toString("base64url")}`;
        const result = await outcome(() => verifyCompactJws(token, (h) => keySet.select(h), ASYMMETRIC_ALGORITHMS));
        expect("error" in result && result.error).toBeInstanceOf(InvalidTokenError);
      }),
      { numRuns: ASYNC_RUNS },
    );
  }, PROPERTY_TIMEOUT);
});

const jwkish = fc.record(
  {
    kty: fc.oneof(fc.constantFrom("RSA", "EC", "OKP", "oct"), fc.string()),
    use: fc.oneof(fc.constantFrom("sig", "enc"), fc.string()),
    alg: fc.oneof(fc.constantFrom(...ASYMMETRIC_ALGORITHMS, "HS256"), fc.string()),
    kid: fc.oneof(fc.string(), fc.integer()),
    n: fc.oneof(fc.constant(publicJwk.n), fc.base64String(), fc.string()),
    e: fc.oneof(fc.constantFrom("AQAB", "AQ", "Aw", ""), fc.string()),
    crv: fc.oneof(fc.constantFrom("P-256", "P-384", "Ed25519", "X25519"), fc.string()),
    x: fc.string(),
    y: fc.string(),
    d: fc.string(),
    key_ops: fc.array(fc.string(), { maxLength: 2 }),
  },
  { requiredKeys: ["kty"] },
);

describe("buildKeySet: the JWK Set document", () => {
  it("builds a key set or refuses with a KeySourceError, for any JSON document and for JWK-shaped ones", () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ keys: fc.array(fc.oneof(jwkish, fc.jsonValue()), { maxLength: 4 }) })), (document) => {
        try {
          buildKeySet(document, "test");
        } catch (error) {
          expect(error).toBeInstanceOf(KeySourceError);
        }
      }),
      { numRuns: RUNS },
    );
  }, PROPERTY_TIMEOUT);

  it("answers a token header of any members with a key or an InvalidTokenError (jose asks only once alg passed the allow-list)", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ASYMMETRIC_ALGORITHMS), fc.oneof(headers, fc.dictionary(fc.string(), fc.jsonValue())), async (alg, others) => {
        const header = { ...others, alg };
        const result = await outcome(() => keySet.select(header as never));
        if ("error" in result) expect(result.error).toBeInstanceOf(InvalidTokenError);
      }),
      { numRuns: ASYNC_RUNS },
    );
  }, PROPERTY_TIMEOUT);

  it("is the same key set whatever the order of its keys and of their members", () => {
    const ec = { ...(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "jwk" }) as JWK), kid: "k2", alg: "ES256" };
    const reversed = (jwk: JWK) => Object.fromEntries(Object.entries(jwk).reverse());
    fc.assert(
      fc.property(fc.shuffledSubarray([publicJwk, ec, { kty: "oct", k: "c2VjcmV0" }], { minLength: 3, maxLength: 3 }), fc.boolean(), (keys, flip) => {
        const built = buildKeySet({ keys: flip ? keys.map((k) => reversed(k as JWK)) : keys }, "test");
        expect(built.fingerprint).toBe(buildKeySet({ keys: [publicJwk, ec] }, "test").fingerprint);
        expect([...built.kids].sort()).toEqual(["k1", "k2"]);
      }),
      { numRuns: runs(300) },
    );
  }, PROPERTY_TIMEOUT);
});

/** A fetch that answers every URL with `status` and `body`. */
const fakeFetch = (status: number, body: string): typeof fetch =>
  (async () => new Response(status === 204 || status === 304 ? null : body, { status, headers: { "content-type": "application/json" } })) as typeof fetch;

describe("discoverJwksUri: the metadata document", () => {
  const issuer = "https://as.example";
  const metadata = fc.oneof(
    fc.jsonValue(),
    fc.record({ issuer: fc.oneof(fc.constant(issuer), fc.string(), fc.jsonValue()), jwks_uri: fc.oneof(fc.webUrl(), fc.string(), fc.jsonValue()) }, { requiredKeys: [] }),
  );
  const body = fc.oneof(metadata.map((m) => JSON.stringify(m)), fc.string(), fc.constant(""));
  const status = fc.oneof(fc.constant(200), fc.integer({ min: 200, max: 599 }));

  it("finds an http(s) jwks_uri or refuses with a KeySourceError, for any answer", async () => {
    await fc.assert(
      fc.asyncProperty(status, body, async (code, text) => {
        const result = await outcome(() => discoverJwksUri(`${issuer}/.well-known/oauth-authorization-server`, issuer, { fetch: fakeFetch(code, text), timeoutMs: 1000 }));
        if ("error" in result) expect(result.error).toBeInstanceOf(KeySourceError);
        else expect(new URL(result.value).protocol).toMatch(/^https?:$/);
      }),
      { numRuns: ASYNC_RUNS },
    );
  }, PROPERTY_TIMEOUT);

  it("finds the same jwks_uri whatever other members come with it, in any order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.dictionary(fc.string(), fc.jsonValue()), fc.boolean(), async (extra, first) => {
        const wanted = { issuer, jwks_uri: `${issuer}/jwks.json` };
        const { issuer: _i, jwks_uri: _j, ...others } = extra;
        const document = first ? { ...wanted, ...others } : { ...others, ...wanted };
        expect(await discoverJwksUri("https://as.example/m", issuer, { fetch: fakeFetch(200, JSON.stringify(document)), timeoutMs: 1000 })).toBe(wanted.jwks_uri);
      }),
      { numRuns: runs(500) },
    );
  }, PROPERTY_TIMEOUT);
});

describe("createVerifier, fed any metadata and JWK Set documents", () => {
  it("answers any token with a BearerError, never another error", async () => {
    const issuer = "https://as.example";
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue(), fc.record({ keys: fc.array(fc.oneof(jwkish, fc.constant(publicJwk)), { maxLength: 3 }) })),
        fc.oneof(fc.stringMatching(/^[A-Za-z0-9_\-.]{1,200}$/), fc.tuple(headers, fc.jsonValue()).map(([h, p]) => `${b64(h)}.${b64(p)}.${b64("sig")}`)),
        async (jwks, token) => {
          const fetch = (async (url: string) =>
            new Response(JSON.stringify(url.endsWith("/jwks") ? jwks : { issuer, jwks_uri: `${issuer}/jwks` }), { status: 200 })) as unknown as typeof globalThis.fetch;
          const verifier = createVerifier({ issuer, audience: "api", fetch, cacheMaxEntries: 0 });
          const result = await outcome(() => verifier.verify(token));
          expect("error" in result && result.error).toBeInstanceOf(BearerError);
        },
      ),
      { numRuns: runs(500) },
    );
  }, PROPERTY_TIMEOUT);
});
