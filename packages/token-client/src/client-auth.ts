import { randomUUID, type KeyObject } from "node:crypto";
import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from "jose";

/** The client authentication methods of RFC 6749 §2.3 and RFC 7523 §2.2. */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post" | "private_key_jwt";

/** What a client authentication method needs to know about the request it authenticates. */
export interface ClientAuthContext {
  clientId: string;
  /** The authorization server's issuer identifier (RFC 8414 §2). */
  issuer: string;
  tokenEndpoint: string;
  /** Current time from the token client's clock, in milliseconds. */
  now: number;
}

/**
 * A client authentication method as a value: it adds credentials to one token
 * request (form body and headers). The credential lives only in the closure,
 * so it never shows up when the token client or this value is logged or
 * inspected.
 */
export interface ClientAuth {
  readonly method: ClientAuthMethod;
  apply(context: ClientAuthContext, body: URLSearchParams, headers: Record<string, string>): void | Promise<void>;
}

/**
 * `application/x-www-form-urlencoded` encoding of one value (RFC 6749
 * Appendix B), as RFC 6749 §2.3.1 requires before the Basic encoding: a space
 * becomes `+`, `:` and every other reserved or non-ASCII character is
 * percent-encoded, so a secret holding `:` cannot be misread.
 */
export function formUrlEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * `client_secret_basic` (RFC 6749 §2.3.1): HTTP Basic with the client id and
 * secret, each form-urlencoded before they are joined and base64-encoded.
 */
export function clientSecretBasic(clientSecret: string): ClientAuth {
  requireSecret(clientSecret);
  return {
    method: "client_secret_basic",
    apply({ clientId }, _body, headers) {
      const credentials = `${formUrlEncode(clientId)}:${formUrlEncode(clientSecret)}`;
      headers.authorization = `Basic ${Buffer.from(credentials, "utf8").toString("base64")}`;
    },
  };
}

/**
 * `client_secret_post` (RFC 6749 §2.3.1): `client_id` and `client_secret` in
 * the form body. RFC 6749 says Basic SHOULD be preferred; use this only for a
 * server that cannot read Basic.
 */
export function clientSecretPost(clientSecret: string): ClientAuth {
  requireSecret(clientSecret);
  return {
    method: "client_secret_post",
    apply({ clientId }, body) {
      body.set("client_id", clientId);
      body.set("client_secret", clientSecret);
    },
  };
}

/** Asymmetric algorithms only: a shared-secret HMAC would defeat the point of a key pair. */
const ASSERTION_ALGORITHMS = new Set([
  "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519",
]);

export interface PrivateKeyJwtOptions {
  /** Signing algorithm. Default: the JWK's `alg`, else `RS256`. */
  alg?: string;
  /** `kid` header, so the server can pick the right registered key. Default: the JWK's `kid`. */
  kid?: string;
  /** Lifetime of each assertion, seconds (default 60: it is used at once). */
  lifetimeSeconds?: number;
}

/**
 * `private_key_jwt` (RFC 7523 §2.2, RFC 7521 §4.2): each token request carries
 * a fresh JWT signed with the client's private key, with `iss` = `sub` =
 * client id, `aud` = the authorization server, a short `exp` and a unique
 * `jti` (the server refuses a replayed one).
 *
 * @param privateKey a `CryptoKey` or `KeyObject`, a private JWK, or a PKCS#8
 *   PEM string (or a JWK as JSON text), as read from a key file.
 */
export function privateKeyJwt(privateKey: CryptoKey | KeyObject | JWK | string, options: PrivateKeyJwtOptions = {}): ClientAuth {
  const jwk = asJwk(privateKey);
  const alg = options.alg ?? jwk?.alg ?? "RS256";
  const kid = options.kid ?? jwk?.kid;
  const lifetime = options.lifetimeSeconds ?? 60;
  if (!ASSERTION_ALGORITHMS.has(alg)) throw new TypeError(`private_key_jwt: unsupported algorithm ${JSON.stringify(alg)}`);
  if (!Number.isInteger(lifetime) || lifetime < 1) throw new TypeError("private_key_jwt: lifetimeSeconds must be a positive integer");
  if (jwk && jwk.d === undefined) throw new TypeError("private_key_jwt: the JWK is not a private key");
  if (isKey(privateKey) && privateKey.type !== "private") throw new TypeError("private_key_jwt: the key is not a private key");

  // Imported once, on first use, so configuration stays synchronous.
  let key: Promise<CryptoKey | KeyObject | Uint8Array> | undefined;
  const signingKey = () => {
    if (!key) {
      key = jwk
        ? importJWK(jwk, alg)
        : typeof privateKey === "string"
          ? importPKCS8(privateKey, alg)
          : Promise.resolve(privateKey as CryptoKey | KeyObject);
      key.catch(() => (key = undefined)); // a failed import is tried again next time
    }
    return key;
  };

  return {
    method: "private_key_jwt",
    async apply({ clientId, issuer, now }, body) {
      const iat = Math.floor(now / 1000);
      const assertion = await new SignJWT({})
        .setProtectedHeader(kid === undefined ? { alg } : { alg, kid })
        .setIssuer(clientId)
        .setSubject(clientId)
        // exactly the issuer identifier, one string: a token endpoint URL or a list is what audience injection abuses
        .setAudience(issuer)
        .setIssuedAt(iat)
        .setExpirationTime(iat + lifetime)
        .setJti(randomUUID())
        .sign(await signingKey());
      body.set("client_id", clientId);
      body.set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      body.set("client_assertion", assertion);
    },
  };
}

function asJwk(key: CryptoKey | KeyObject | JWK | string): JWK | undefined {
  if (typeof key === "string") {
    if (key.trimStart().startsWith("-----BEGIN")) return undefined;
    try {
      return JSON.parse(key) as JWK;
    } catch {
      throw new TypeError("private_key_jwt: the key is neither a PKCS#8 PEM nor a JWK");
    }
  }
  return isKey(key) ? undefined : key;
}

function isKey(key: unknown): key is CryptoKey | KeyObject {
  return typeof key === "object" && key !== null && "type" in key && typeof (key as { type: unknown }).type === "string" && !("kty" in key);
}

function requireSecret(secret: string): void {
  // The message names the problem, never the value.
  if (typeof secret !== "string" || secret.length === 0) throw new TypeError("client secret must be a non-empty string");
}
