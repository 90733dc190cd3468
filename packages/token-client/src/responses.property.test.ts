// Property-based tests (fast-check) of what the client reads from the
// network: the token endpoint's answer (RFC 6749 §5.1, §5.2), the
// authorization server's metadata (RFC 8414 §3.2), and the WWW-Authenticate
// header of a resource server's refusal (RFC 9110 §11.6.1). Properties: no
// answer makes them throw anything but the client's own errors
// (TokenClientError), what they return has the shape promised, and the same
// answer written another way reads the same. A failure prints fast-check's
// seed and path: rerun with `fc.assert(…, { seed, path })` to replay it.
import type { AxiosInstance } from "axios";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fetchMetadata } from "./discovery.js";
import { TokenClientError } from "./errors.js";
import { readTokenResponse, type TokenResponse } from "./token-response.js";
import { isInvalidTokenChallenge, isNonceChallenge, parseChallenges } from "./www-authenticate.js";

// PROPERTY_RUNS_SCALE shrinks every run count, as in the other packages' property tests
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
const PROPERTY_TIMEOUT = 120_000;
const NOW = Date.UTC(2026, 0, 1, 12);

const json = fc.jsonValue({ maxDepth: 3 });
const status = fc.oneof(fc.constantFrom(200, 400, 401, 403, 408, 429, 500, 503), fc.integer({ min: 100, max: 599 }));
const headers = fc.record({ "retry-after": fc.oneof(fc.string(), fc.nat().map(String), fc.date({ noInvalidDate: true }).map((d) => d.toUTCString())) }, { requiredKeys: [] });
/** A body shaped like a token answer, each member any JSON or a plausible value. */
const tokenBody = fc.record(
  {
    access_token: fc.oneof(fc.string(), json),
    token_type: fc.oneof(fc.constantFrom("Bearer", "bearer", "DPoP", "dpop", "BEARER", "N_A"), json),
    expires_in: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.nat().map(String), fc.string(), json),
    scope: fc.oneof(fc.string(), json),
    error: fc.oneof(fc.constantFrom("invalid_client", "invalid_scope", "server_error", "temporarily_unavailable", ""), json),
    error_description: fc.oneof(fc.string(), json),
  },
  { requiredKeys: [] },
);

function read(answer: Parameters<typeof readTokenResponse>[0], expected: "Bearer" | "DPoP"): { value: TokenResponse } | { error: unknown } {
  try {
    return { value: readTokenResponse(answer, NOW, expected) };
  } catch (error) {
    return { error };
  }
}

describe("readTokenResponse: the token endpoint's answer", () => {
  it("returns a token of a positive lifetime, or throws a TokenClientError, for any status, headers and body", () => {
    fc.assert(
      fc.property(status, headers, fc.oneof(json, tokenBody, fc.constant(undefined)), fc.constantFrom("Bearer" as const, "DPoP" as const), (code, head, body, expected) => {
        const result = read({ status: code, headers: head, json: body }, expected);
        if ("error" in result) {
          expect(result.error, String(result.error)).toBeInstanceOf(TokenClientError);
          return;
        }
        expect(code).toBe(200);
        expect(typeof result.value.accessToken === "string" && result.value.accessToken !== "").toBe(true);
        if (result.value.expiresIn !== undefined) expect(result.value.expiresIn > 0 && Number.isFinite(result.value.expiresIn)).toBe(true);
      }),
      { numRuns: runs(5000) },
    );
  }, PROPERTY_TIMEOUT);

  it("reads a token the same whatever the case of token_type and whether expires_in is a number or its digits (RFC 6749 §7.1, §5.1)", () => {
    const caseOf = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""));
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.constantFrom("Bearer" as const, "DPoP" as const).chain((expected) => fc.tuple(fc.constant(expected), caseOf(expected))),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.option(fc.string(), { nil: undefined }),
        (token, [expected, spelled], seconds, scope) => {
          const answer = (tokenType: string, expiresIn: unknown) => ({ status: 200, headers: {}, json: { access_token: token, token_type: tokenType, expires_in: expiresIn, ...(scope === undefined ? {} : { scope }) } });
          const plain = read(answer(expected, seconds), expected);
          expect(plain).toEqual({ value: { accessToken: token, expiresIn: seconds, scope } });
          expect(read(answer(spelled, String(seconds)), expected)).toEqual(plain);
        },
      ),
      { numRuns: runs(3000) },
    );
  }, PROPERTY_TIMEOUT);
});

describe("fetchMetadata: the authorization server's metadata", () => {
  const ISSUER = "https://as.example";
  /** An axios instance that answers every request with this status, headers and body text. */
  const answering = (code: number, head: Record<string, string>, text: string) => ({ request: async () => ({ status: code, headers: head, data: text }) }) as unknown as AxiosInstance;
  const metadataBody = fc.record(
    { issuer: fc.oneof(fc.constant(ISSUER), fc.constant(`${ISSUER}/`), json), token_endpoint: fc.oneof(fc.webUrl(), fc.constantFrom("ftp://as.example/token", "/token", "javascript:alert(1)"), json), extra: json },
    { requiredKeys: [] },
  );
  const bodyText = fc.oneof(fc.string(), json.map((value) => JSON.stringify(value)), metadataBody.map((value) => JSON.stringify(value)));

  it("returns metadata of this issuer with an http(s) token_endpoint, or rejects with a TokenClientError, for any answer", async () => {
    await fc.assert(
      fc.asyncProperty(status, headers, bodyText, async (code, head, text) => {
        const outcome = await fetchMetadata(answering(code, head as Record<string, string>, text), ISSUER, ISSUER, { totalTimeoutMs: 1000, now: () => NOW }).then(
          (metadata) => ({ metadata }),
          (error: unknown) => ({ error }),
        );
        if ("error" in outcome) {
          expect(outcome.error, String(outcome.error)).toBeInstanceOf(TokenClientError);
          return;
        }
        expect(code).toBe(200);
        expect(outcome.metadata.issuer).toBe(ISSUER);
        expect(new URL(outcome.metadata.token_endpoint).protocol).toMatch(/^https?:$/);
      }),
      { numRuns: runs(2000) },
    );
  }, PROPERTY_TIMEOUT);
});

describe("parseChallenges: a resource server's WWW-Authenticate", () => {
  const header = fc.oneof(
    fc.string(),
    fc.string({ unit: "binary" }),
    fc
      .array(fc.tuple(fc.constantFrom("Bearer", "DPoP", "Basic", "bearer", "x"), fc.dictionary(fc.constantFrom("realm", "error", "error_description", "algs", "scope", "x"), fc.string())))
      .map((challenges) => challenges.map(([scheme, params]) => `${scheme} ${Object.entries(params).map(([name, value]) => `${name}="${value.replace(/["\\]/g, "\\$&")}"`).join(", ")}`).join(", ")),
  );

  it("never throws, whatever the header, and gives lower-case schemes; the error checks never throw either", () => {
    fc.assert(
      fc.property(fc.oneof(fc.constant(undefined), header, fc.array(header, { maxLength: 3 })), (value) => {
        const challenges = parseChallenges(value);
        for (const challenge of challenges) expect(challenge.scheme).toBe(challenge.scheme.toLowerCase());
        expect(typeof isInvalidTokenChallenge(value)).toBe("boolean");
        expect(typeof isNonceChallenge(value)).toBe("boolean");
      }),
      { numRuns: runs(3000) },
    );
  }, PROPERTY_TIMEOUT);

  it("reads back each quoted value as it was written, however it is escaped", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (description, realm) => {
        const quoted = (value: string) => `"${value.replace(/["\\]/g, "\\$&")}"`;
        const [challenge] = parseChallenges(`Bearer realm=${quoted(realm)}, error="invalid_token", error_description=${quoted(description)}`);
        expect(challenge).toEqual({ scheme: "bearer", params: { realm, error: "invalid_token", error_description: description } });
        expect(isInvalidTokenChallenge(`Bearer realm=${quoted(realm)}, error="invalid_token"`)).toBe(true);
      }),
      { numRuns: runs(2000) },
    );
  }, PROPERTY_TIMEOUT);
});
