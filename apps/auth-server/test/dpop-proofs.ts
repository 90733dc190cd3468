import { randomUUID } from "node:crypto";
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

/** A client's DPoP key pair, made in the test. */
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
  /** Claims over the defaults (`jti`, `htm` POST, `htu`, `iat` now); `undefined` removes one. */
  claims?: Record<string, unknown>;
}

/**
 * An RFC 9449 §4.2 proof for `htu`, signed with `key`, as correct as a
 * client makes it unless `parts` says otherwise: the tests break one thing
 * at a time.
 */
export async function signProof(key: ProofKey, htu: string, nowMs: number, parts: ProofParts = {}): Promise<string> {
  const header = dropUndefined({ typ: "dpop+jwt", alg: key.alg, jwk: key.jwk, ...parts.header });
  const claims = dropUndefined({ jti: randomUUID(), htm: "POST", htu, iat: Math.floor(nowMs / 1000), ...parts.claims });
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

/** A JWS whose parts are these, with any signature bytes: for `alg: none`, HS256 and tampering. */
export function rawJws(header: Record<string, unknown>, claims: Record<string, unknown>, signature = ""): string {
  return `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.${signature}`;
}

function dropUndefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}
