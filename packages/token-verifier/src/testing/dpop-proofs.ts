/**
 * DPoP proofs (RFC 9449 §4.2) as a client makes them, for the verifier's
 * DPoP tests: a key pair made in the test, and a proof for a request and a
 * token that is correct unless the test says which part to break.
 */
import { createHash, randomUUID } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

/** A client's DPoP key pair. */
export interface ProofKey {
  alg: string;
  privateKey: CryptoKey;
  /** The public key, as a proof carries it. */
  jwk: JWK;
  /** Its RFC 7638 thumbprint: the `cnf.jkt` of a token bound to it. */
  jkt: string;
}

export async function proofKey(alg = "ES256"): Promise<ProofKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { alg, privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

export interface ProofParts {
  /** Header members over the defaults (`typ`, `alg`, `jwk`); `undefined` removes one. */
  header?: Record<string, unknown>;
  /** Claims over the defaults (`jti`, `htm`, `htu`, `iat` now, `ath` of the token); `undefined` removes one. */
  claims?: Record<string, unknown>;
}

/** The request a proof is made for. */
export interface ProofFor {
  key: ProofKey;
  method?: string;
  htu: string;
  accessToken: string;
  /** Milliseconds since the epoch. */
  nowMs: number;
}

/** The base64url SHA-256 of an access token: a proof's `ath` (RFC 9449 §4.2). */
export const ath = (accessToken: string): string => createHash("sha256").update(accessToken).digest("base64url");

export function signProof({ key, method = "POST", htu, accessToken, nowMs }: ProofFor, parts: ProofParts = {}): Promise<string> {
  const header = dropUndefined({ typ: "dpop+jwt", alg: key.alg, jwk: key.jwk, ...parts.header });
  const claims = dropUndefined({ jti: randomUUID(), htm: method, htu, iat: Math.floor(nowMs / 1000), ath: ath(accessToken), ...parts.claims });
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
