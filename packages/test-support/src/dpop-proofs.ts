/**
 * DPoP proofs (RFC 9449 §4.2) as a client makes them, for the DPoP tests of
 * the verifier and of both apps: a key pair made in the test, and a proof
 * for a request (and a token) that is correct unless the test says which
 * part to break.
 */
import { createHash, randomUUID } from "node:crypto";
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

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
  /** Claims over the defaults (`jti`, `htm`, `htu`, `iat` now, `ath` of the token if there is one); `undefined` removes one. */
  claims?: Record<string, unknown>;
}

/** The request a proof is made for. */
export interface ProofFor {
  key: ProofKey;
  method?: string;
  htu: string;
  /** The access token the proof goes with (RFC 9449 §7: `ath`); none for a token request (§5). */
  accessToken?: string;
  /** Milliseconds since the epoch. */
  nowMs: number;
}

/** The base64url SHA-256 of an access token: a proof's `ath` (RFC 9449 §4.2). */
export const ath = (accessToken: string): string => createHash("sha256").update(accessToken).digest("base64url");

export function signProof({ key, method = "POST", htu, accessToken, nowMs }: ProofFor, parts: ProofParts = {}): Promise<string> {
  const header = dropUndefined({ typ: "dpop+jwt", alg: key.alg, jwk: key.jwk, ...parts.header });
  const claims = dropUndefined({
    jti: randomUUID(),
    htm: method,
    htu,
    iat: Math.floor(nowMs / 1000),
    ath: accessToken === undefined ? undefined : ath(accessToken),
    ...parts.claims,
  });
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** A JWS whose parts are these, with any signature bytes: for `alg: none`, HS256 and tampering. */
export function rawJws(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ""): string {
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
