// Property-based tests (fast-check) of the DPoP header, a parser both the
// authorization server and the resource servers feed with what the network
// sends (RFC 9449 §4.3). Properties: no header fields make checkProof throw
// anything but its own refusals (ProofCheckFailed, or NonceNeeded when
// nonces are required), however they are shaped (any text, any compact JWS,
// any protected header and claims signed by the key the header carries);
// a proof the checks accept is accepted whatever other members its header
// and claims carry, in any order. A failure prints fast-check's seed and
// path: rerun with `fc.assert(…, { seed, path })` to replay it.
import { createHash } from "node:crypto";
import fc from "fast-check";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { checkProof, NonceNeeded, ProofCheckFailed } from "./dpop-checks.js";
import { DPoPNonces } from "./dpop-nonce.js";
import { expectations, testProofKey } from "./testing/proof-key.js";

// PROPERTY_RUNS_SCALE shrinks every run count, as in the other packages' property tests
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;

const NOW = Date.UTC(2026, 0, 1, 12);
const HTU = "https://payments.example/charge";
const ALGORITHMS = new Set(["RS256", "PS256", "ES256", "EdDSA"]);
const expected = expectations({ algorithms: ALGORITHMS, uri: HTU, now: NOW });

const key = await testProofKey();
const { jwk, jkt } = key;

/** A compact JWS of these exact JSON texts, signed with the test's ES256 key (whatever the header says). */
const signed = (headerJson: string, claimsJson: string): Promise<string> => key.sign(headerJson, claimsJson);

/** What checkProof did: accepted, or the error it threw. */
async function outcome(fields: readonly string[], expectations = expected()): Promise<{ jkt: string } | { error: unknown }> {
  try {
    return { jkt: (await checkProof(fields, expectations)).jkt };
  } catch (error) {
    return { error };
  }
}
const isRefusal = (error: unknown) => error instanceof ProofCheckFailed || error instanceof NonceNeeded;

const json = fc.jsonValue({ maxDepth: 2 });
const members = fc.dictionary(fc.string({ maxLength: 8 }), json, { maxKeys: 5 });
const base64urlText = fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/);

describe("checkProof: the DPoP header fields", () => {
  it("refuses any fields with ProofCheckFailed or NonceNeeded, never another error, with or without nonces", async () => {
    const nonces = new DPoPNonces({ clock: () => NOW });
    const field = fc.oneof(
      fc.string({ unit: "binary", maxLength: 200 }),
      fc.tuple(base64urlText, base64urlText, base64urlText).map((parts) => parts.join(".")),
      fc.tuple(json, json, base64urlText).map(([header, claims, signature]) => `${base64url.encode(JSON.stringify(header) ?? "")}.${base64url.encode(JSON.stringify(claims) ?? "")}.${signature}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(field, { maxLength: 3 }), fc.boolean(), async (fields, withNonces) => {
        const result = await outcome(fields, expected(withNonces ? { nonces } : {}));
        expect("error" in result && isRefusal(result.error), JSON.stringify(result)).toBe(true);
      }),
      { numRuns: runs(3000) },
    );
  }, PROPERTY_TIMEOUT);

  it("refuses a proof with any header and claims, signed by the key it carries, with its own refusals only", async () => {
    const header = fc.record(
      { typ: fc.oneof(fc.constant("dpop+jwt"), json), alg: fc.oneof(fc.constantFrom("ES256", "EdDSA", "none", "HS256"), json), jwk: fc.oneof(fc.constant("own"), members), extra: members },
      { requiredKeys: [] },
    );
    const claims = fc.record(
      { jti: fc.oneof(fc.string({ maxLength: 300 }), json), htm: fc.oneof(fc.constant("POST"), json), htu: fc.oneof(fc.constant(HTU), fc.webUrl(), json), iat: fc.oneof(fc.constant(NOW / 1000), fc.double(), json), exp: json, extra: members },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(header, claims, async (h, c) => {
        const { extra: headerExtra, ...headerRest } = h;
        const { extra: claimsExtra, ...claimsRest } = c;
        const headerValue = { ...(headerExtra as object), ...headerRest, ...(h.jwk === "own" ? { jwk } : {}) };
        const result = await outcome([await signed(JSON.stringify(headerValue), JSON.stringify({ ...(claimsExtra as object), ...claimsRest }))]);
        if ("error" in result) expect(isRefusal(result.error), String(result.error)).toBe(true);
        else expect(result.jkt).toBe(jkt);
      }),
      { numRuns: runs(1500) },
    );
  }, PROPERTY_TIMEOUT);

  it("accepts a sound proof whatever other members its header and claims carry, in any order", async () => {
    const ath = createHash("sha256").update("token").digest("base64url");
    await fc.assert(
      fc.asyncProperty(members, members, fc.boolean(), async (headerExtra, claimsExtra, reversed) => {
        const header: Array<[string, unknown]> = [...Object.entries(headerExtra).filter(([name]) => !["typ", "alg", "jwk", "crit", "b64"].includes(name)), ["typ", "dpop+jwt"], ["alg", "ES256"], ["jwk", jwk]];
        const claims: Array<[string, unknown]> = [
          ...Object.entries(claimsExtra).filter(([name]) => !["jti", "htm", "htu", "iat", "exp", "nbf", "nonce"].includes(name)),
          ["jti", "a-proof"],
          ["htm", "POST"],
          ["htu", HTU],
          ["iat", NOW / 1000],
          ["ath", ath],
        ];
        const order = <T>(entries: T[]) => (reversed ? [...entries].reverse() : entries);
        const result = await outcome([await signed(JSON.stringify(Object.fromEntries(order(header))), JSON.stringify(Object.fromEntries(order(claims))))]);
        expect(result, JSON.stringify(result)).toEqual({ jkt });
      }),
      { numRuns: runs(1000) },
    );
  }, PROPERTY_TIMEOUT);
});
