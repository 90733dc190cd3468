import { generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
import { InvalidTokenError } from "./errors.js";
import { KeySourceError } from "./fetch-json.js";
import { buildKeySet, hasRocaFingerprint } from "./key-set.js";

const rsaJwk = (options: { modulusLength?: number; publicExponent?: number } = {}, extra: Record<string, unknown> = {}) => ({
  ...(generateKeyPairSync("rsa", { modulusLength: options.modulusLength ?? 2048, publicExponent: options.publicExponent ?? 65537 }).publicKey.export({ format: "jwk" }) as JWK),
  alg: "RS256",
  ...extra,
});
const ecJwk = (extra: Record<string, unknown> = {}) => ({ ...(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "jwk" }) as JWK), alg: "ES256", ...extra });
const okpJwk = (extra: Record<string, unknown> = {}) => ({ ...(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }) as JWK), alg: "EdDSA", ...extra });

const kidsOf = (keys: unknown[]) => [...buildKeySet({ keys }, "test").kids].sort();

describe("buildKeySet: which keys of a JWK Set are kept", () => {
  it("keeps public RSA, EC and OKP signature keys, with use sig or no use", () => {
    expect(kidsOf([rsaJwk({}, { kid: "rsa" }), ecJwk({ kid: "ec", use: "sig" }), okpJwk({ kid: "okp" })])).toEqual(["ec", "okp", "rsa"]);
  });

  it("drops symmetric keys, keys with private members, keys for encryption, and non-objects", () => {
    const { d: _d, ...ec } = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "jwk" }) as JWK & { d: string };
    const withPrivate = { ...ec, d: _d, kid: "private" };
    const keys = [
      { kty: "oct", k: "c2VjcmV0", kid: "oct" },
      withPrivate,
      ecJwk({ kid: "enc", use: "enc" }),
      ecJwk({ kid: "kept" }),
      null,
      "a string",
      ["an", "array"],
      { kid: "no kty" },
      { kty: 3, kid: "kty not a string" },
    ];
    expect(kidsOf(keys)).toEqual(["kept"]);
  });

  it("drops a key holding any private member, each on its own", () => {
    const sound = rsaJwk({}, { kid: "sound" });
    const keys = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"].map((member) => ({ ...sound, kid: member, [member]: "AQAB" }));
    expect(kidsOf([sound, ...keys])).toEqual(["sound"]);
  });

  it("drops an RSA key under 2048 bits, with an even or tiny public exponent, or one that does not import", () => {
    const sound = rsaJwk({}, { kid: "sound" });
    const keys = [
      sound,
      rsaJwk({ publicExponent: 3 }, { kid: "e3" }),
      { ...sound, kid: "e2", e: "Ag" },
      { ...sound, kid: "e1", e: "AQ" },
      { ...sound, kid: "e65536", e: "AQAA" },
      rsaJwk({ modulusLength: 1024 }, { kid: "small" }),
      { ...sound, kid: "no n", n: undefined },
      { ...ecJwk(), kid: "ec, bad point", y: ecJwk().y },
    ];
    expect(kidsOf(keys)).toEqual(["e3", "sound"]);
  });

  it("keeps only the kids of kept keys, and kids that are strings", () => {
    const set = buildKeySet({ keys: [ecJwk({ kid: "a" }), ecJwk({ kid: 7 }), ecJwk()] }, "test");
    expect([...set.kids]).toEqual(["a"]);
  });

  it("refuses a document that is not a JWK Set, or holds no usable key", () => {
    for (const document of [null, "keys", [], {}, { keys: {} }, { keys: "[]" }]) {
      expect(() => buildKeySet(document, "https://as.example/jwks")).toThrow(new KeySourceError('https://as.example/jwks: not a JWK Set (RFC 7517 §5: a "keys" array)'));
    }
    for (const document of [{ keys: [] }, { keys: [{ kty: "oct", k: "c2VjcmV0" }] }]) {
      expect(() => buildKeySet(document, "https://as.example/jwks")).toThrow(new KeySourceError("https://as.example/jwks: the JWK Set holds no usable public signature key"));
    }
  });

  it("tells an empty modulus from a ROCA one without throwing", () => {
    expect(hasRocaFingerprint("")).toBe(false);
  });

  it("fingerprints the usable keys only, whatever their order, and tells other keys under the same kids apart", () => {
    expect(buildKeySet({ keys: [ecJwk({ kid: "a" })] }, "test").fingerprint).not.toBe(buildKeySet({ keys: [ecJwk({ kid: "a" })] }, "test").fingerprint);
    const a = ecJwk({ kid: "a" });
    const b = okpJwk({ kid: "b" });
    const one = buildKeySet({ keys: [a, b, { kty: "oct", k: "eA" }] }, "test");
    expect(buildKeySet({ keys: [b, a] }, "test").fingerprint).toBe(one.fingerprint);
    expect(buildKeySet({ keys: [a] }, "test").fingerprint).not.toBe(one.fingerprint);
  });
});

describe("KeySet.select", () => {
  it("finds the key a header names, and refuses a kid or alg no key has", async () => {
    const set = buildKeySet({ keys: [ecJwk({ kid: "a" }), okpJwk({ kid: "b" })] }, "test");
    await expect(set.select({ alg: "ES256", kid: "a" })).resolves.toBeDefined();
    await expect(set.select({ alg: "EdDSA", kid: "b" })).resolves.toBeDefined();
    for (const header of [{ alg: "ES256", kid: "b" }, { alg: "RS256", kid: "a" }, { alg: "ES256", kid: "c" }]) {
      await expect(set.select(header)).rejects.toThrow(new InvalidTokenError("no key of the issuer matches the access token's kid and alg"));
    }
  });

  it("refuses a header without kid when several keys fit, and takes the one that fits otherwise", async () => {
    const two = buildKeySet({ keys: [ecJwk({ kid: "a" }), ecJwk({ kid: "b" })] }, "test");
    await expect(two.select({ alg: "ES256" })).rejects.toThrow(new InvalidTokenError("the access token does not name its key (kid)"));
    const one = buildKeySet({ keys: [ecJwk({ kid: "a" }), okpJwk({ kid: "b" })] }, "test");
    await expect(one.select({ alg: "EdDSA" })).resolves.toBeDefined();
  });
});
