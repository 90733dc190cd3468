import { beforeAll, describe, expect, it } from "vitest";
import type { BearerRequest } from "./bearer.js";
import { createDPoPVerifier, type DPoPOptions } from "./dpop.js";
import { BearerError, InvalidDPoPProofError, UnauthorizedError, UseDPoPNonceError } from "./errors.js";
import { BearerGuard, createVerifier, InsufficientScopeError, InvalidTokenError, type TokenVerifiedEvent, type TokenVerifier, type VerifiedAccessToken } from "./index.js";
import { requiredScopes } from "./guard.js";
import { proofKey, signProof, type ProofKey } from "@m2m/test-support";
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

describe("BearerGuard with DPoP (RFC 9449 §7)", () => {
  const HTU = "https://payments.example/charge";
  const TOKEN = "a.bound.token";
  let key: ProofKey;
  let other: ProofKey;
  beforeAll(async () => {
    [key, other] = await Promise.all([proofKey("ES256"), proofKey("ES256")]);
  });
  const bound = (jkt = key.jkt): VerifiedAccessToken => {
    const token = verified({ kid: "k1" });
    return { ...token, claims: { ...token.claims, cnf: { jkt } } };
  };
  const dpopVerifier = (options: DPoPOptions = {}) => createDPoPVerifier({ clock: () => NOW * 1000, algorithms: ["ES256", "EdDSA"], ...options });
  const proofOf = (signer = key, parts: Parameters<typeof signProof>[1] = {}) => signProof({ key: signer, htu: HTU, accessToken: TOKEN, nowMs: NOW * 1000 }, parts);
  const dpopRequest = async (overrides: Partial<BearerRequest> = {}): Promise<BearerRequest> => ({
    authorization: `DPoP ${TOKEN}`,
    dpop: [await proofOf()],
    method: "POST",
    url: HTU,
    ...overrides,
  });
  async function refused(guard: BearerGuard, request: BearerRequest): Promise<BearerError> {
    const error = await guard.check(request).then(
      () => expect.unreachable("let through"),
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BearerError);
    return error as BearerError;
  }

  it("lets a bound token through with the DPoP scheme and a proof of its key, and tells onVerified what the proof proved", async () => {
    const told: TokenVerifiedEvent[] = [];
    const guard = new BearerGuard(standIn(bound()), { realm: "r", scope: "charge:customer", dpop: dpopVerifier(), onVerified: (event) => told.push(event) });
    await expect(guard.check(await dpopRequest())).resolves.toMatchObject({ claims: { cnf: { jkt: key.jkt } } });
    expect(told[0]!.dpop).toEqual({ jkt: key.jkt, alg: "ES256", nonceChecked: false });
    expect(told[0]!.checks.slice(-4)).toEqual([
      `DPoP proof signed by the token's key (ES256, cnf.jkt ${key.jkt})`,
      "DPoP proof htm, htu and ath match this request and token, iat within the window",
      "DPoP proof jti not seen before",
      "scope charge:customer",
    ]);
  });

  it("says the nonce was checked among the checks when nonces are required", async () => {
    const told: TokenVerifiedEvent[] = [];
    const dpop = dpopVerifier({ requireNonce: true });
    const guard = new BearerGuard(standIn(bound()), { realm: "r", dpop, onVerified: (event) => told.push(event) });
    await guard.check(await dpopRequest({ dpop: [await proofOf(key, { claims: { nonce: dpop.nonce() } })] }));
    expect(told[0]!.dpop?.nonceChecked).toBe(true);
    expect(told[0]!.checks).toContain("DPoP nonce current");
    expect(told[0]!.checks.at(-1)).toBe("DPoP proof jti not seen before");
  });

  it("tells onVerified of a Bearer token no dpop and no DPoP check", async () => {
    const told: TokenVerifiedEvent[] = [];
    const guard = new BearerGuard(standIn(verified()), { realm: "r", dpop: dpopVerifier(), onVerified: (event) => told.push(event) });
    await guard.check({ authorization: "Bearer abc" });
    expect("dpop" in told[0]!).toBe(false);
    expect(told[0]!.checks.filter((check) => check.startsWith("DPoP"))).toEqual([]);
  });

  it("refuses a bound token sent as Bearer, whatever the mode, with a DPoP challenge when DPoP is taken here (RFC 9449 §7.2)", async () => {
    for (const dpop of [dpopVerifier(), dpopVerifier({ mode: "allowed" })]) {
      const rejected: BearerError[] = [];
      const guard = new BearerGuard(standIn(bound()), { realm: "r", dpop, onRejected: (event) => rejected.push(event.error) });
      const error = await refused(guard, { authorization: `Bearer ${TOKEN}` });
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect(error.description).toBe("the access token is DPoP-bound: send it with the DPoP scheme and a proof");
      expect(error.headers["WWW-Authenticate"]).toBe(
        'DPoP realm="r", error="invalid_token", error_description="the access token is DPoP-bound: send it with the DPoP scheme and a proof", algs="ES256 EdDSA"',
      );
      expect(rejected).toEqual([error]);
    }
    // where DPoP is off, or not configured, the token cannot be checked: refused, with a Bearer challenge
    for (const dpop of [dpopVerifier({ mode: "off" }), undefined]) {
      const guard = new BearerGuard(standIn(bound()), { realm: "r", ...(dpop ? { dpop } : {}) });
      const error = await refused(guard, { authorization: `Bearer ${TOKEN}` });
      expect(error.description).toBe("the access token is DPoP-bound: send it with the DPoP scheme and a proof");
      expect(error.dpopAlgs).toBeUndefined();
      expect(error.headers["WWW-Authenticate"]).toMatch(/^Bearer realm="r", error="invalid_token"/);
    }
  });

  it("refuses an unbound token sent with the DPoP scheme, with a DPoP challenge", async () => {
    const guard = new BearerGuard(standIn(verified()), { realm: "r", dpop: dpopVerifier() });
    const error = await refused(guard, await dpopRequest());
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect(error.description).toBe("the access token is not DPoP-bound: send it with the Bearer scheme");
    expect(error.dpopAlgs).toEqual(["ES256", "EdDSA"]);
  });

  it("does not take the DPoP scheme where DPoP is off: the bare Bearer challenge", async () => {
    for (const options of [{ dpop: dpopVerifier({ mode: "off" }) }, {}]) {
      const guard = new BearerGuard(standIn(bound()), { realm: "r", ...options });
      const error = await refused(guard, await dpopRequest());
      expect(error).toBeInstanceOf(UnauthorizedError);
      expect(error.headers).toEqual({ "WWW-Authenticate": 'Bearer realm="r"' });
    }
  });

  it("checks the proof against the request's DPoP fields, method and URL, and the token's key", async () => {
    const guard = new BearerGuard(standIn(bound()), { realm: "r", dpop: dpopVerifier() });
    const reasons: string[] = [];
    for (const request of [
      await dpopRequest({ dpop: undefined }),
      await dpopRequest({ dpop: [] }),
      await dpopRequest({ method: undefined }),
      await dpopRequest({ method: "GET" }),
      await dpopRequest({ url: undefined }),
      await dpopRequest({ url: "https://payments.example/other" }),
    ]) {
      const error = await refused(guard, request);
      expect(error).toBeInstanceOf(InvalidDPoPProofError);
      expect(error.headers["WWW-Authenticate"]).toBe('DPoP realm="r", error="invalid_dpop_proof", error_description="the DPoP proof is not valid for this request", algs="ES256 EdDSA"');
      reasons.push((error as InvalidDPoPProofError).reason);
    }
    expect(reasons).toEqual([
      "no DPoP header",
      "no DPoP header",
      "htm does not match the request method",
      "htm does not match the request method",
      "htu does not match the request URI",
      "htu does not match the request URI",
    ]);
    const stolen = await refused(guard, await dpopRequest({ dpop: [await proofOf(other)] }));
    expect(stolen.description).toBe("the access token is bound to another key than the DPoP proof's");
    expect(stolen.dpopAlgs).toEqual(["ES256", "EdDSA"]);
  });

  it("answers use_dpop_nonce with the nonce and a DPoP challenge", async () => {
    const dpop = dpopVerifier({ requireNonce: true });
    const guard = new BearerGuard(standIn(bound()), { realm: "r", dpop });
    const error = await refused(guard, await dpopRequest());
    expect(error).toBeInstanceOf(UseDPoPNonceError);
    expect(error.headers).toEqual({
      "WWW-Authenticate": 'DPoP realm="r", error="use_dpop_nonce", error_description="the resource server requires a nonce in the DPoP proof", algs="ES256 EdDSA"',
      "DPoP-Nonce": dpop.nonce(),
    });
  });

  it("challenges with DPoP every refusal where DPoP is required, Bearer ones where it is allowed and the request used Bearer", async () => {
    const required = new BearerGuard(standIn(new InvalidTokenError("bad")), { realm: "r", dpop: dpopVerifier({ mode: "required" }) });
    const none = await refused(required, { authorization: undefined });
    expect(none.headers).toEqual({ "WWW-Authenticate": 'DPoP realm="r", algs="ES256 EdDSA"' });
    expect(none.description).toBe("this resource needs a DPoP-bound access token and a DPoP proof");
    expect((await refused(required, await dpopRequest())).headers["WWW-Authenticate"]).toBe('DPoP realm="r", error="invalid_token", error_description="bad", algs="ES256 EdDSA"');
    const allowed = new BearerGuard(standIn(new InvalidTokenError("bad")), { realm: "r", dpop: dpopVerifier() });
    expect((await refused(allowed, { authorization: "Bearer abc" })).headers["WWW-Authenticate"]).toBe('Bearer realm="r", error="invalid_token", error_description="bad"');
    expect((await refused(allowed, { authorization: undefined })).headers["WWW-Authenticate"]).toBe('Bearer realm="r"');
    expect((await refused(allowed, await dpopRequest())).dpopAlgs).toEqual(["ES256", "EdDSA"]);
    // a scope refusal of a DPoP request is a DPoP challenge too
    const scoped = new BearerGuard(standIn(bound()), { realm: "r", scope: "charge:refund", dpop: dpopVerifier() });
    const scope = await refused(scoped, await dpopRequest());
    expect(scope).toBeInstanceOf(InsufficientScopeError);
    expect(scope.headers["WWW-Authenticate"]).toBe('DPoP realm="r", error="insufficient_scope", scope="charge:refund", algs="ES256 EdDSA"');
  });

  it("keeps the realm and the algs an error already carries", async () => {
    const guard = new BearerGuard(standIn(new InvalidTokenError("bad", { realm: "elsewhere", dpopAlgs: ["PS256"] })), { realm: "r", dpop: dpopVerifier() });
    const error = await refused(guard, await dpopRequest());
    expect(error.realm).toBe("elsewhere");
    expect(error.dpopAlgs).toEqual(["PS256"]);
  });

  it("refusal() reports a BearerError it is handed, and passes anything else through unreported", () => {
    const rejected: BearerError[] = [];
    const guard = new BearerGuard(standIn(verified()), { realm: "r", dpop: dpopVerifier(), onRejected: (event) => rejected.push(event.error) });
    const proofError = new InvalidDPoPProofError("jti was used before by this key");
    expect(guard.refusal(proofError)).toBe(proofError);
    expect(proofError.realm).toBe("r");
    expect(proofError.dpopAlgs).toEqual(["ES256", "EdDSA"]);
    const nonceError = new UseDPoPNonceError("n");
    guard.refusal(nonceError);
    expect(nonceError.dpopAlgs).toEqual(["ES256", "EdDSA"]);
    const plain = new InvalidTokenError("bad");
    guard.refusal(plain, "bearer");
    expect(plain.dpopAlgs).toBeUndefined();
    const fault = new Error("fault");
    expect(guard.refusal(fault, "dpop")).toBe(fault);
    expect(rejected).toEqual([proofError, nonceError, plain]);
    // without DPoP configured, a DPoP-only error gets no algs to send
    const bare = new InvalidDPoPProofError("x");
    new BearerGuard(standIn(verified()), { realm: "r" }).refusal(bare, "dpop");
    expect(bare.dpopAlgs).toBeUndefined();
  });
});
