import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { CompactJwsSigner } from "./jws.js";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "./key-files.js";

function keyPair(alg: SigningAlgorithm): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === "RS256" || alg === "PS256") return generateKeyPairSync("rsa", { modulusLength: 2048 });
  if (alg === "ES256") return generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return generateKeyPairSync("ed25519");
}

const SIGNATURE_BYTES: Record<SigningAlgorithm, number> = { RS256: 256, PS256: 256, ES256: 64, EdDSA: 64 };
const claims = { iss: "https://as.example", sub: "c", client_id: "c", aud: "api", scope: "a b", iat: 1_780_000_000, exp: 1_780_000_300, jti: "j" };

describe("CompactJwsSigner", () => {
  for (const alg of SIGNING_ALGORITHMS) {
    it(`${alg}: jose verifies the token against the public JWK, and the signature has the RFC 7518 size`, async () => {
      const { privateKey, publicKey } = keyPair(alg);
      const header = { alg, typ: "at+jwt", kid: "k1" };
      const token = new CompactJwsSigner(header, privateKey).sign(claims);
      const jwks = { keys: [{ ...(publicKey.export({ format: "jwk" }) as JWK), kid: "k1", alg, use: "sig" }] };
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), {
        algorithms: [alg],
        typ: "at+jwt",
        currentDate: new Date(claims.iat * 1000),
      });
      expect(protectedHeader).toEqual(header);
      expect(payload).toEqual(claims);
      // ES256 is R || S (64 bytes), not DER; RSA signatures are the modulus length.
      expect(Buffer.from(token.split(".")[2]!, "base64url")).toHaveLength(SIGNATURE_BYTES[alg]);
    });
  }

  for (const alg of ["RS256", "EdDSA"] as const) {
    it(`${alg} (deterministic): byte for byte the token jose's SignJWT makes`, async () => {
      const { privateKey } = keyPair(alg);
      const header = { alg, typ: "at+jwt", kid: "k1" };
      const ours = new CompactJwsSigner(header, privateKey).sign(claims);
      expect(ours).toBe(await new SignJWT({ ...claims }).setProtectedHeader({ ...header }).sign(privateKey));
    });
  }

  it("EdDSA (libsodium): for any payload, the signature node:crypto (OpenSSL) makes over the same signing input", () => {
    const { privateKey } = keyPair("EdDSA");
    const signer = new CompactJwsSigner({ alg: "EdDSA", typ: "at+jwt", kid: "k1" }, privateKey);
    for (const jti of ["", "a", "zahlung é ✓", "x".repeat(1000), ...Array.from({ length: 20 }, (_, i) => `jti-${i}-${Math.random()}`)]) {
      const token = signer.sign({ ...claims, jti });
      const [header, payload, signature] = token.split(".");
      expect(signature).toBe(sign(null, Buffer.from(`${header}.${payload}`), privateKey).toString("base64url"));
    }
  });

  it("encodes the payload as UTF-8 JSON", async () => {
    const { privateKey, publicKey } = keyPair("EdDSA");
    const token = new CompactJwsSigner({ alg: "EdDSA", kid: "k1" }, privateKey).sign({ scope: "zahlung:lesen é ✓" });
    expect((await jwtVerify(token, publicKey)).payload.scope).toBe("zahlung:lesen é ✓");
    expect(decodeProtectedHeader(token)).toEqual({ alg: "EdDSA", kid: "k1" });
  });

  it("refuses a key that does not fit the algorithm, and a public key", () => {
    expect(() => new CompactJwsSigner({ alg: "RS256" }, keyPair("ES256").privateKey)).toThrow(/does not fit RS256/);
    expect(() => new CompactJwsSigner({ alg: "ES256" }, keyPair("EdDSA").privateKey)).toThrow(/does not fit ES256/);
    expect(() => new CompactJwsSigner({ alg: "ES256" }, generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey)).toThrow(/does not fit/);
    expect(() => new CompactJwsSigner({ alg: "EdDSA" }, keyPair("EdDSA").publicKey)).toThrow(/private key/);
  });
});
