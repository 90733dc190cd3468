import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { checkProof, type ProofExpectations } from "./dpop-checks.js";

const NOW = 1_800_000_000_000;
const expected: ProofExpectations = {
  algorithms: new Set(["ES256", "EdDSA"]),
  method: "POST",
  uri: "https://auth.example/token",
  nonces: undefined,
  now: NOW,
  maxAgeSeconds: 60,
  leewaySeconds: 5,
};

async function proofKey() {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  return { privateKey, jwk: await exportJWK(publicKey) };
}

function proof(key: { privateKey: CryptoKey; jwk: JWK }, jti: string, header: Partial<{ jwk: JWK }> = {}): Promise<string> {
  return new SignJWT({ htm: "POST", htu: "https://auth.example/token", jti, iat: NOW / 1000 })
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: header.jwk ?? key.jwk })
    .sign(key.privateKey);
}

describe("checkProof: a client's key is imported once, and every proof still verified", () => {
  it("accepts each new proof of a key it has seen, with that key's thumbprint", async () => {
    const key = await proofKey();
    const first = await checkProof([await proof(key, "one")], expected);
    const second = await checkProof([await proof(key, "two")], expected);
    expect(second.jkt).toBe(first.jkt);
    expect(second.jti).toBe("two");
  });

  it("refuses a proof whose signature is not the key's, though that key was imported for an earlier proof", async () => {
    const key = await proofKey();
    await checkProof([await proof(key, "good")], expected);
    const [head, payload] = (await proof(key, "good")).split(".");
    const forged = await proof(key, "forged");
    const tampered = `${head}.${payload}.${forged.split(".")[2]}`;
    await expect(checkProof([tampered], expected)).rejects.toMatchObject({ reason: "the signature does not verify with the jwk" });
  });

  it("refuses a proof signed by another key that names the imported one", async () => {
    const victim = await proofKey();
    const attacker = await proofKey();
    await checkProof([await proof(victim, "victim")], expected);
    const impostor = await proof(attacker, "impostor", { jwk: victim.jwk });
    await expect(checkProof([impostor], expected)).rejects.toMatchObject({ reason: "the signature does not verify with the jwk" });
  });

  it("refuses a key that cannot be imported, each time it is presented", async () => {
    const key = await proofKey();
    // the same x with another y: not a point on P-256
    const offCurve = { ...key.jwk, y: key.jwk.x };
    for (const jti of ["a", "b"]) {
      await expect(checkProof([await proof(key, jti, { jwk: offCurve })], expected)).rejects.toMatchObject({
        reason: "the jwk cannot verify this proof",
      });
    }
  });
});
