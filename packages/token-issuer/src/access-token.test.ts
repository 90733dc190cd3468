import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import { mintAccessToken } from "./access-token.js";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "./key-files.js";
import { SigningKeys } from "./signing-keys.js";

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function keysFor(alg: SigningAlgorithm): Promise<SigningKeys> {
  const dir = mkdtempSync(join(tmpdir(), "token-issuer-mint-"));
  dirs.push(dir);
  return SigningKeys.open({ path: dir, alg, tokenTtlSeconds: 300, manage: true, clock: Date.now });
}

// RFC 7518 §3.3, §3.4, §3.5 and RFC 8037 §3.1: what one signature of each algorithm is, in bytes
const SIGNATURE_BYTES: Record<SigningAlgorithm, number> = { RS256: 256, PS256: 256, ES256: 64, EdDSA: 64 };

describe("mintAccessToken", () => {
  for (const alg of SIGNING_ALGORITHMS) {
    it(`${alg}: an RFC 9068 token that jose verifies against the published JWK Set`, async () => {
      const keys = await keysFor(alg);
      const now = Date.now();
      const minted = await mintAccessToken({ clientId: "c", audience: "api", scope: "a b" }, { issuer: "https://as.example", ttlSeconds: 300, keys, clock: () => now });
      expect(minted.header).toEqual({ alg, typ: "at+jwt", kid: keys.current().kid });
      expect(decodeProtectedHeader(minted.token)).toEqual(minted.header);
      const { payload } = await jwtVerify(minted.token, createLocalJWKSet(keys.jwks()), { algorithms: [alg], typ: "at+jwt", audience: "api", issuer: "https://as.example" });
      expect(payload).toEqual(minted.claims);
      expect(payload).toMatchObject({ sub: "c", client_id: "c", scope: "a b", exp: Math.floor(now / 1000) + 300 });
      // ES256 is R || S, not DER; an RSA signature is as long as the modulus
      expect(Buffer.from(minted.token.split(".")[2]!, "base64url")).toHaveLength(SIGNATURE_BYTES[alg]);
    });
  }

  it("signs with a private key that cannot be exported from the process's key object", async () => {
    const keys = await keysFor("EdDSA");
    const key = keys.current();
    expect(key.signingKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("jwk", key.signingKey)).rejects.toThrow();
    expect(Object.keys(key)).not.toContain("privateJwk");
  });

  it("gives every token its own jti", async () => {
    const keys = await keysFor("ES256");
    const context = { issuer: "https://as.example", ttlSeconds: 300, keys, clock: Date.now };
    const jtis = await Promise.all(Array.from({ length: 50 }, () => mintAccessToken({ clientId: "c", audience: "api", scope: "a" }, context).then((m) => m.claims.jti)));
    expect(new Set(jtis).size).toBe(50);
  });

  it("says what it signed: the header, every claim and the lifetime, as in the token", async () => {
    const keys = await keysFor("EdDSA");
    const now = Date.parse("2026-12-04T12:00:00.999Z");
    const minted = await mintAccessToken({ clientId: "c", audience: "api", scope: "a b" }, { issuer: "https://as.example", ttlSeconds: 120, keys, clock: () => now });
    const iat = Math.floor(now / 1000);
    expect(minted.claims).toEqual({ iss: "https://as.example", sub: "c", client_id: "c", aud: "api", scope: "a b", iat, exp: iat + 120, jti: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(minted.expiresIn).toBe(120);
    const [header, payload] = minted.token.split(".") as [string, string];
    expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg: "EdDSA", typ: "at+jwt", kid: keys.current().kid });
    expect(JSON.parse(Buffer.from(payload, "base64url").toString())).toEqual(minted.claims);
  });
});
