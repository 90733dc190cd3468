import { randomUUID } from "node:crypto";
import { CompactSign, type CryptoKey, type JWSHeaderParameters } from "jose";
import type { Clock } from "./clock.js";
import type { SigningAlgorithm } from "./key-files.js";
import type { SigningKeys } from "./signing-keys.js";

/** The JOSE header of an access token (RFC 9068 §2.1). */
export interface AccessTokenHeader {
  alg: SigningAlgorithm;
  typ: "at+jwt";
  kid: string;
}

/**
 * The claims of an access token of the client credentials grant
 * (RFC 9068 §2.2): no user, so `sub` is the client itself; `aud` is the one
 * resource server's identifier, a string.
 */
export interface AccessTokenClaims {
  iss: string;
  sub: string;
  client_id: string;
  aud: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  /** RFC 9449 §6.1: a DPoP-bound token names the key it is bound to by its RFC 7638 thumbprint. */
  cnf?: { jkt: string };
}

/** A signed access token, with what went into it (for the `issued` event). */
export interface MintedToken {
  token: string;
  header: AccessTokenHeader;
  claims: AccessTokenClaims;
  expiresIn: number;
}

/**
 * Signs an RFC 9068 JWT access token with the key that signs now, through
 * {@link signCompactJws}. The private key is a non-extractable `CryptoKey`
 * (see `SigningKeys`), so it cannot be read back out of the process's key
 * objects.
 */
export async function mintAccessToken(
  grant: { clientId: string; audience: string; scope: string; jkt?: string },
  context: { issuer: string; ttlSeconds: number; keys: SigningKeys; clock: Clock },
): Promise<MintedToken> {
  const key = context.keys.current();
  const iat = Math.floor(context.clock() / 1000);
  const claims: AccessTokenClaims = {
    iss: context.issuer,
    sub: grant.clientId,
    client_id: grant.clientId,
    aud: grant.audience,
    scope: grant.scope,
    iat,
    exp: iat + context.ttlSeconds,
    jti: randomUUID(),
    ...(grant.jkt === undefined ? {} : { cnf: { jkt: grant.jkt } }),
  };
  // RFC 9068 §2.1: typ "at+jwt" tells an access token apart from an ID token or any other JWT (RFC 8725 §3.11).
  const header: AccessTokenHeader = { alg: key.alg, typ: "at+jwt", kid: key.kid };
  const token = await signCompactJws({ ...header }, new TextEncoder().encode(JSON.stringify(claims)), key.signingKey);
  return { token, header, claims, expiresIn: context.ttlSeconds };
}

/**
 * A compact JWS (RFC 7515 §7.1) of `payload` under `header`, signed by jose's
 * `CompactSign`: the one place this server signs anything. An access token
 * is its claims as JSON (what jose's `SignJWT` would sign); on its own, it is
 * what the RFC 7520 and RFC 8037 examples are checked against, byte for byte
 * (src/signer-vectors.test.ts).
 */
export function signCompactJws(header: JWSHeaderParameters & { alg: string }, payload: Uint8Array, key: CryptoKey): Promise<string> {
  return new CompactSign(payload).setProtectedHeader(header).sign(key);
}
