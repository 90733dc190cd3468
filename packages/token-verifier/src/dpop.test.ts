import { randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { ASYMMETRIC_ALGORITHMS } from "./algorithms.js";
import { createDPoPVerifier, DPOP_MODES, type DPoPOptions, type DPoPRequest } from "./dpop.js";
import { InvalidDPoPProofError, InvalidTokenError, TemporarilyUnavailableError, UseDPoPNonceError } from "./errors.js";
import { proofKey, signProof, type ProofKey, type ProofParts } from "@m2m/test-support";

// The resource server's DPoP checks (RFC 9449 §4.3, §7) in this package:
// what createDPoPVerifier takes as configuration, what it passes to the
// shared proof checks (method, URI, the iat window, nonces), and what it
// adds to them: ath (check 12), the key the token is bound to, and the
// replay cache. Each case breaks one thing of a proof a client would send.

const NOW = Date.UTC(2026, 0, 1, 12); // a whole second
const HTU = "https://payments.example/charge";
const TOKEN = "an.access.token";

let key: ProofKey;
let other: ProofKey;
beforeAll(async () => {
  [key, other] = await Promise.all([proofKey("ES256"), proofKey("EdDSA")]);
});

/** A clock the test moves, in milliseconds. */
const clockAt = (ms: number) => {
  const clock = { ms, now: () => clock.ms };
  return clock;
};

const request = (overrides: Partial<DPoPRequest> = {}): DPoPRequest => ({ method: "POST", url: HTU, accessToken: TOKEN, jkt: key.jkt, ...overrides });
const proof = (parts: ProofParts = {}, nowMs = NOW, signer: ProofKey = key) => signProof({ key: signer, htu: HTU, accessToken: TOKEN, nowMs }, parts);

async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable("accepted"),
    (error: unknown) => error,
  );
}
async function reason(promise: Promise<unknown>): Promise<string> {
  const error = await refusal(promise);
  expect(error).toBeInstanceOf(InvalidDPoPProofError);
  return (error as InvalidDPoPProofError).reason;
}

describe("createDPoPVerifier: its configuration", () => {
  it("is allowed, takes every asymmetric algorithm, no public URL and no nonce by default", () => {
    const verifier = createDPoPVerifier();
    expect(verifier.mode).toBe("allowed");
    expect(verifier.algorithms).toEqual([...ASYMMETRIC_ALGORITHMS]);
    expect(verifier.publicUrl).toBeUndefined();
    expect(verifier.nonce()).toBeUndefined();
    expect(verifier.replayCacheSize).toBe(0);
    expect(DPOP_MODES).toEqual(["off", "allowed", "required"]);
    for (const mode of DPOP_MODES) expect(createDPoPVerifier({ mode }).mode).toBe(mode);
  });

  it("refuses an age window that is not positive and a negative leeway; takes a leeway of 0", () => {
    for (const options of [{ maxAgeSeconds: 0 }, { maxAgeSeconds: -1 }, { maxAgeSeconds: Number.NaN }, { leewaySeconds: -1 }, { leewaySeconds: Number.NaN }]) {
      expect(() => createDPoPVerifier(options), JSON.stringify(options)).toThrow(new TypeError("maxAgeSeconds must be positive and leewaySeconds not negative"));
    }
    expect(createDPoPVerifier({ maxAgeSeconds: 1, leewaySeconds: 0 }).mode).toBe("allowed");
  });

  it("refuses none and HMAC among the proof algorithms, at start (RFC 9449 §4.3 check 5)", () => {
    for (const algorithms of [["none"], ["HS256"], ["ES256", "HS512"], []]) {
      expect(() => createDPoPVerifier({ algorithms }), JSON.stringify(algorithms)).toThrow(TypeError);
    }
    expect(createDPoPVerifier({ algorithms: ["ES256", "EdDSA"] }).algorithms).toEqual(["ES256", "EdDSA"]);
  });

  it("takes an http(s) origin as publicUrl, and refuses a path, a query, a fragment or another scheme", () => {
    expect(createDPoPVerifier({ publicUrl: "https://payments.example" }).publicUrl).toBe("https://payments.example");
    expect(createDPoPVerifier({ publicUrl: "https://Payments.Example/" }).publicUrl).toBe("https://payments.example");
    expect(createDPoPVerifier({ publicUrl: "http://127.0.0.1:4002" }).publicUrl).toBe("http://127.0.0.1:4002");
    for (const publicUrl of ["payments.example", "", "not a url"]) {
      expect(() => createDPoPVerifier({ publicUrl }), publicUrl).toThrow(new TypeError("publicUrl must be an absolute http(s) URL"));
    }
    for (const publicUrl of ["ftp://payments.example", "https://payments.example/charge", "https://payments.example/?a=1", "https://payments.example/?", "https://payments.example/#f", "https://payments.example#"]) {
      expect(() => createDPoPVerifier({ publicUrl }), publicUrl).toThrow(new TypeError("publicUrl must be an origin: scheme, host and port only"));
    }
  });
});

describe("createDPoPVerifier: a proof for one request and one token", () => {
  it("accepts a proof a client makes, and says what it proved, frozen", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    const proved = await verifier.verify([await proof()], request());
    expect(proved).toEqual({ jkt: key.jkt, alg: "ES256", nonceChecked: false });
    expect(Object.isFrozen(proved)).toBe(true);
    expect(verifier.replayCacheSize).toBe(1);
  });

  it("answers a failed RFC 9449 §4.3 check with invalid_dpop_proof, the check named only in reason", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    expect(await reason(verifier.verify([], request()))).toBe("no DPoP header");
    expect(await reason(verifier.verify([await proof(), await proof()], request()))).toBe("more than one DPoP header");
    expect(await reason(verifier.verify([await proof({ header: { typ: "JWT" } })], request()))).toBe("typ is not dpop+jwt");
    const error = await refusal(verifier.verify([await proof({ claims: { htm: "GET" } })], request()));
    expect(error).toBeInstanceOf(InvalidDPoPProofError);
    expect((error as InvalidDPoPProofError).reason).toBe("htm does not match the request method");
    expect((error as InvalidDPoPProofError).description).toBe("the DPoP proof is not valid for this request");
    expect(verifier.replayCacheSize).toBe(0);
  });

  it("checks htm against the request's method and htu against its URL", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    expect(await reason(verifier.verify([await proof()], request({ method: "PUT" })))).toBe("htm does not match the request method");
    expect(await reason(verifier.verify([await proof()], request({ url: "https://payments.example/charges" })))).toBe("htu does not match the request URI");
    expect(await verifier.verify([await proof({ claims: { htm: "PUT" } })], request({ method: "PUT" }))).toMatchObject({ jkt: key.jkt });
  });

  it("takes the proof algorithms it is configured with, and no other (check 5)", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW, algorithms: ["EdDSA"] });
    expect(await reason(verifier.verify([await proof()], request()))).toBe("alg is not an allowed asymmetric algorithm");
    expect(await verifier.verify([await proof({}, NOW, other)], request({ jkt: other.jkt }))).toEqual({ jkt: other.jkt, alg: "EdDSA", nonceChecked: false });
  });

  it("takes an iat at most 30 s old and 5 s ahead by default, by its clock (check 11)", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    await expect(verifier.verify([await proof({}, NOW - 30_000)], request())).resolves.toBeDefined();
    expect(await reason(verifier.verify([await proof({}, NOW - 31_000)], request()))).toBe("iat is too old");
    await expect(verifier.verify([await proof({}, NOW + 5_000)], request())).resolves.toBeDefined();
    expect(await reason(verifier.verify([await proof({}, NOW + 6_000)], request()))).toBe("iat is in the future");
  });

  it("takes the window it is configured with", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW, maxAgeSeconds: 10, leewaySeconds: 0 });
    await expect(verifier.verify([await proof({}, NOW - 10_000)], request())).resolves.toBeDefined();
    expect(await reason(verifier.verify([await proof({}, NOW - 11_000)], request()))).toBe("iat is too old");
    await expect(verifier.verify([await proof({}, NOW)], request())).resolves.toBeDefined();
    expect(await reason(verifier.verify([await proof({}, NOW + 1_000)], request()))).toBe("iat is in the future");
  });

  it("refuses a proof without ath, or whose ath is not the SHA-256 of this access token (check 12)", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    expect(await reason(verifier.verify([await proof({ claims: { ath: undefined } })], request()))).toBe("ath is missing");
    expect(await reason(verifier.verify([await proof({ claims: { ath: 42 } })], request()))).toBe("ath is missing");
    expect(await reason(verifier.verify([await proof()], request({ accessToken: "another.access.token" })))).toBe("ath is not the hash of the access token");
    expect(verifier.replayCacheSize).toBe(0);
  });

  it("refuses a proof by another key than the token's cnf.jkt as invalid_token, and remembers nothing of it (RFC 9449 §7)", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    const error = await refusal(verifier.verify([await proof({}, NOW, other)], request()));
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).description).toBe("the access token is bound to another key than the DPoP proof's");
    expect(verifier.replayCacheSize).toBe(0);
  });
});

describe("createDPoPVerifier: replays (RFC 9449 §11.1)", () => {
  it("refuses a proof the second time, with the same key and jti", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW });
    const once = await proof();
    await verifier.verify([once], request());
    expect(await reason(verifier.verify([once], request()))).toBe("jti was used before by this key");
    // another proof of the same key with the same jti is the same proof to the cache
    expect(await reason(verifier.verify([await proof({ claims: { jti: JSON.parse(Buffer.from(once.split(".")[1]!, "base64url").toString()).jti } })], request()))).toBe(
      "jti was used before by this key",
    );
  });

  it("remembers a jti for as long as a proof carrying it could pass the iat check: maxAge + leeway + 1 s", async () => {
    const clock = clockAt(NOW);
    const verifier = createDPoPVerifier({ clock: clock.now, maxAgeSeconds: 10, leewaySeconds: 2 });
    const jti = randomUUID();
    await verifier.verify([await proof({ claims: { jti } })], request());
    clock.ms = NOW + 12_999;
    expect(await reason(verifier.verify([await proof({ claims: { jti } }, clock.ms)], request()))).toBe("jti was used before by this key");
    clock.ms = NOW + 13_000;
    await expect(verifier.verify([await proof({ claims: { jti } }, clock.ms)], request())).resolves.toBeDefined();
  });

  it("answers 503 with Retry-After when its replay cache is full of live proofs, rather than forget one", async () => {
    const clock = clockAt(NOW);
    const verifier = createDPoPVerifier({ clock: clock.now, replayCacheMaxEntries: 2 });
    await verifier.verify([await proof()], request());
    clock.ms = NOW + 10_000;
    await verifier.verify([await proof({}, clock.ms)], request());
    const error = await refusal(verifier.verify([await proof({}, clock.ms)], request()));
    expect(error).toBeInstanceOf(TemporarilyUnavailableError);
    // the first proof is forgotten 36 s after it was taken: 26 s from now
    expect((error as TemporarilyUnavailableError).retryAfterSeconds).toBe(26);
    expect((error as TemporarilyUnavailableError).description).toBe("too many DPoP proofs to remember right now");
    expect(verifier.replayCacheSize).toBe(2);
  });
});

describe("createDPoPVerifier: server nonces (RFC 9449 §8, §9)", () => {
  const secret = "a nonce secret of at least sixteen bytes";

  it("hands out a nonce, asks for it with use_dpop_nonce, and takes a proof that carries it", async () => {
    const verifier = createDPoPVerifier({ clock: () => NOW, requireNonce: true, nonceSecret: secret });
    const nonce = verifier.nonce();
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const error = await refusal(verifier.verify([await proof()], request()));
    expect(error).toBeInstanceOf(UseDPoPNonceError);
    expect((error as UseDPoPNonceError).nonce).toBe(nonce);
    expect(await verifier.verify([await proof({ claims: { nonce } })], request())).toEqual({ jkt: key.jkt, alg: "ES256", nonceChecked: true });
    expect(verifier.replayCacheSize).toBe(1);
  });

  it("takes another instance's nonce when they share the secret, and not otherwise", async () => {
    const one = createDPoPVerifier({ clock: () => NOW, requireNonce: true, nonceSecret: secret });
    const two = createDPoPVerifier({ clock: () => NOW, requireNonce: true, nonceSecret: secret });
    const stranger = createDPoPVerifier({ clock: () => NOW, requireNonce: true, nonceSecret: "another secret, sixteen bytes or more" });
    const nonce = one.nonce();
    await expect(two.verify([await proof({ claims: { nonce } })], request())).resolves.toMatchObject({ nonceChecked: true });
    await expect(stranger.verify([await proof({ claims: { nonce } })], request())).rejects.toBeInstanceOf(UseDPoPNonceError);
  });

  it("hands out a new nonce every nonceStepSeconds, by its clock, and lets an old one go", async () => {
    const clock = clockAt(NOW);
    const verifier = createDPoPVerifier({ clock: clock.now, requireNonce: true, nonceSecret: secret, nonceStepSeconds: 1 });
    const first = verifier.nonce();
    clock.ms += 1_000;
    expect(verifier.nonce()).not.toBe(first);
    clock.ms += 2_000;
    await expect(verifier.verify([await proof({ claims: { nonce: first } }, clock.ms)], request())).rejects.toBeInstanceOf(UseDPoPNonceError);
  });

  it("asks for no nonce unless requireNonce is set", async () => {
    const options: DPoPOptions = { clock: () => NOW, nonceSecret: secret };
    const verifier = createDPoPVerifier(options);
    expect(verifier.nonce()).toBeUndefined();
    await expect(verifier.verify([await proof()], request())).resolves.toMatchObject({ nonceChecked: false });
  });
});
