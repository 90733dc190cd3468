// Test support for the proof checks' own tests (not built, not published).
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import type { ProofExpectations } from "../dpop-checks.js";

/** A test's ES256 proof key: its public JWK, its RFC 7638 thumbprint, and a signer of exact JSON texts. */
export interface TestProofKey {
  jwk: JWK;
  jkt: string;
  /** A compact JWS of these exact JSON texts, signed with this key whatever the header says: a header or claims set can be anything, valid JSON or not. */
  sign(headerJson: string, claimsJson: string): Promise<string>;
}

export async function testProofKey(): Promise<TestProofKey> {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    jwk,
    jkt: await calculateJwkThumbprint(jwk),
    async sign(headerJson, claimsJson) {
      const input = `${base64url.encode(headerJson)}.${base64url.encode(claimsJson)}`;
      const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(input));
      return `${input}.${base64url.encode(new Uint8Array(signature))}`;
    },
  };
}

/** What a server expects of a proof sent with `POST` to `uri` at `now`, no nonces, a 30 s window and 5 s of leeway; each test overrides what it needs. */
export function expectations(base: Pick<ProofExpectations, "algorithms" | "uri" | "now">) {
  return (overrides: Partial<ProofExpectations> = {}): ProofExpectations => ({
    method: "POST",
    nonces: undefined,
    maxAgeSeconds: 30,
    leewaySeconds: 5,
    ...base,
    ...overrides,
  });
}
