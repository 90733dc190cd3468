import { describe, expect, it } from "vitest";
import { BearerGuard, createVerifier, InsufficientScopeError, InvalidTokenError, type TokenVerifier, type VerifiedAccessToken } from "./index.js";
import { requiredScopes } from "./guard.js";
import { hasScopes, requiredScopeTokens, scopeTokens } from "./scope.js";

// The guard and the verifier's own configuration checks, framework-free,
// with a stand-in verifier: what each refusal says and who is told.
const NOW = 1_800_000_000;
function verified(overrides: { scopes?: string[]; kid?: string; nbf?: number; cached?: boolean } = {}): VerifiedAccessToken {
  const scopes = overrides.scopes ?? ["charge:customer"];
  return {
    claims: {
      iss: "https://as.example",
      sub: "c",
      aud: "api",
      client_id: "c",
      scope: scopes.join(" "),
      jti: "j",
      iat: NOW,
      exp: NOW + 300,
      ...(overrides.nbf === undefined ? {} : { nbf: overrides.nbf }),
    },
    header: { alg: "ES256", kid: overrides.kid, typ: "at+jwt" },
    scopes,
    cached: overrides.cached ?? false,
    checkedAt: NOW,
  };
}
const standIn = (result: VerifiedAccessToken | Error): TokenVerifier =>
  ({ verify: async () => (result instanceof Error ? Promise.reject(result) : result) }) as unknown as TokenVerifier;

describe("BearerGuard", () => {
  it("lets any verified token through when no scope is required, and tells onVerified every check, in order", async () => {
    const told: string[][] = [];
    const guard = new BearerGuard(standIn(verified({ kid: "k1", nbf: NOW - 10, cached: true })), { realm: "r", onVerified: (event) => told.push([...event.checks]) });
    await expect(guard.check({ authorization: "Bearer abc" })).resolves.toBeDefined();
    expect(told).toEqual([
      [
        "signature (ES256, kid k1), verified on first use and cached",
        "typ at+jwt",
        "iss https://as.example",
        "aud api",
        `exp ${new Date((NOW + 300) * 1000).toISOString()} not passed`,
        "nbf passed",
        "iat not in the future",
      ],
    ]);
  });

  it("names each required scope among the checks, says kid none, and leaves nbf out when there is none", async () => {
    const told: string[][] = [];
    const guard = new BearerGuard(standIn(verified({ scopes: ["a", "b", "c"] })), { realm: "r", scope: ["a", "b"], onVerified: (event) => told.push([...event.checks]) });
    await guard.check({ authorization: "Bearer abc" });
    expect(told[0]![0]).toBe("signature (ES256, kid none)");
    expect(told[0]).not.toContain("nbf passed");
    expect(told[0]!.slice(-2)).toEqual(["scope a", "scope b"]);
  });

  it("refuses a token without every required scope, naming them all, with the realm, and tells onRejected", async () => {
    const rejected: unknown[] = [];
    const guard = new BearerGuard(standIn(verified({ scopes: ["a"] })), { realm: "payments", scope: "a b", onRejected: (event) => rejected.push(event.error) });
    const error = await guard.check({ authorization: "Bearer abc" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InsufficientScopeError);
    expect((error as InsufficientScopeError).scope).toBe("a b");
    expect((error as InsufficientScopeError).realm).toBe("payments");
    expect(rejected).toEqual([error]);
  });

  it("passes an error that is not a refusal through untouched, and tells no one", async () => {
    const rejected: unknown[] = [];
    const fault = new Error("database down");
    const guard = new BearerGuard(standIn(fault), { realm: "r", onRejected: (event) => rejected.push(event) });
    expect(await guard.check({ authorization: "Bearer abc" }).catch((e: unknown) => e)).toBe(fault);
    expect(rejected).toEqual([]);
    // a refusal with no listener is still a refusal
    const quiet = new BearerGuard(standIn(new InvalidTokenError("bad")), { realm: "r" });
    expect(await quiet.check({ authorization: "Bearer abc" }).catch((e: unknown) => (e as InvalidTokenError).realm)).toBe("r");
  });
});

describe("required scopes, as configured", () => {
  it("takes one or more scope tokens, as a string or a list, and refuses anything else at start", () => {
    expect(requiredScopes("a b")).toEqual(["a", "b"]);
    expect(requiredScopes(["a", "b"])).toEqual(["a", "b"]);
    expect(requiredScopes(["a b"])).toEqual(["a", "b"]);
    for (const scope of ["", " ", "a  b", "a\tb", 'a"b', "a\\b", [], [""]]) {
      expect(() => requiredScopes(scope), JSON.stringify(scope)).toThrow(new TypeError("a required scope must be one or more RFC 6749 §3.3 scope tokens"));
    }
    expect(requiredScopeTokens("charge:customer")).toEqual(["charge:customer"]);
    expect(scopeTokens(" a  b ")).toEqual(["a", "b"]);
    expect(hasScopes(["a", "b"], ["b"])).toBe(true);
    expect(hasScopes(["ab"], ["a"])).toBe(false);
    expect(hasScopes([], [])).toBe(true);
  });
});

describe("createVerifier's configuration checks", () => {
  const base = { issuer: "https://as.example", audience: "api", fetch: (async () => new Response("{}", { status: 500 })) as typeof fetch };
  it("refuses a missing issuer or audience, a lifetime that is not positive, and maxStaleMs under maxAgeMs", () => {
    expect(() => createVerifier({ ...base, issuer: "" })).toThrow(new TypeError("issuer is required"));
    expect(() => createVerifier({ ...base, audience: "" })).toThrow(new TypeError("audience is required"));
    for (const maxLifetimeSec of [0, -1, Number.NaN]) {
      expect(() => createVerifier({ ...base, maxLifetimeSec })).toThrow(new TypeError("maxLifetimeSec must be a positive number of seconds"));
    }
    expect(createVerifier({ ...base, maxLifetimeSec: 1 }).issuer).toBe("https://as.example");
    expect(() => createVerifier({ ...base, maxAgeMs: 1000, maxStaleMs: 999 })).toThrow(new TypeError("maxStaleMs must be at least maxAgeMs"));
    expect(createVerifier({ ...base, maxAgeMs: 1000, maxStaleMs: 1000 }).audience).toBe("api");
  });

  it("refuses an empty or non-string token as malformed, and one longer than maxTokenLength as too large, before any fetch", async () => {
    let fetched = 0;
    const verifier = createVerifier({ ...base, maxTokenLength: 10, fetch: (async () => (fetched++, new Response("{}", { status: 500 }))) as typeof fetch });
    for (const token of ["", 42, undefined, null]) {
      await expect(verifier.verify(token as string)).rejects.toThrow(new InvalidTokenError("the access token is malformed"));
    }
    await expect(verifier.verify("a".repeat(11))).rejects.toThrow(new InvalidTokenError("the access token is too large"));
    // exactly maxTokenLength is not too large: it goes on (and is malformed)
    await expect(verifier.verify("a".repeat(10))).rejects.toThrow(new InvalidTokenError("the access token is malformed"));
    expect(fetched).toBe(0);
  });
});
