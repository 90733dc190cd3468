import { randomUUID } from "node:crypto";
import type { Clock } from "./clock.js";
import { CompactJwsSigner } from "./jws.js";
import type { SigningAlgorithm } from "./key-files.js";
import type { LoadedKey, SigningKeys } from "./signing-keys.js";

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
}

export interface MintedToken {
  token: string;
  header: AccessTokenHeader;
  claims: AccessTokenClaims;
  expiresIn: number;
}

/**
 * Signs RFC 9068 JWT access tokens with the current signing key,
 * synchronously (see {@link CompactJwsSigner}: `node:crypto`, libsodium for
 * Ed25519, rather than jose's WebCrypto path: about 1.3× cheaper per RSA
 * token, 2.5× per ES256 token and 3× per Ed25519 token).
 */
export class AccessTokenMinter {
  /** Per loaded key (they are imported once and kept), its header and signer. */
  private readonly signers = new WeakMap<LoadedKey, { header: AccessTokenHeader; signer: CompactJwsSigner }>();

  constructor(
    private readonly options: { issuer: string; ttlSeconds: number; keys: SigningKeys; clock: Clock },
  ) {}

  mint(grant: { clientId: string; audience: string; scope: string }): MintedToken {
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
    const { header, signer } = this.signerFor(key);
    return { token: signer.sign(claims), header, claims, expiresIn: this.options.ttlSeconds };
  }

  private signerFor(key: LoadedKey): { header: AccessTokenHeader; signer: CompactJwsSigner } {
    let entry = this.signers.get(key);
    if (entry === undefined) {
      // RFC 9068 §2.1: typ "at+jwt" tells an access token apart from an ID token or other JWT (RFC 8725 §3.11).
      const header: AccessTokenHeader = Object.freeze({ alg: key.alg, typ: "at+jwt", kid: key.kid });
      entry = { header, signer: new CompactJwsSigner(header, key.privateKey) };
      this.signers.set(key, entry);
    }
    return entry;
  }
}
