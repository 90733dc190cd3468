import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { Clock } from "./clock.js";
import type { SigningKeys } from "./signing-keys.js";

/** The JOSE header of an access token (RFC 9068 §2.1). */
export interface AccessTokenHeader {
  alg: string;
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
}

export interface MintedToken {
  token: string;
  header: AccessTokenHeader;
  claims: AccessTokenClaims;
  expiresIn: number;
}

/** Signs RFC 9068 JWT access tokens with the current signing key. */
export class AccessTokenMinter {
  constructor(
    private readonly options: { issuer: string; ttlSeconds: number; keys: SigningKeys; clock: Clock },
  ) {}

  async mint(grant: { clientId: string; audience: string; scope: string }): Promise<MintedToken> {
    const key = this.options.keys.current();
    const iat = Math.floor(this.options.clock() / 1000);
    const claims: AccessTokenClaims = {
      iss: this.options.issuer,
      sub: grant.clientId,
      client_id: grant.clientId,
      aud: grant.audience,
      scope: grant.scope,
      iat,
      exp: iat + this.options.ttlSeconds,
      jti: randomUUID(),
    };
    // RFC 9068 §2.1: typ "at+jwt" tells an access token apart from an ID token or other JWT (RFC 8725 §3.11).
    const header: AccessTokenHeader = { alg: key.alg, typ: "at+jwt", kid: key.kid };
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ ...header }).sign(key.privateKey);
    return { token, header, claims, expiresIn: this.options.ttlSeconds };
  }
}
