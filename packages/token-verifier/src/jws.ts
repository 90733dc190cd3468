import { Buffer } from "node:buffer";
import { compactVerify, errors, type CompactJWSHeaderParameters, type CompactVerifyGetKey } from "jose";
import { parseJsonObject } from "@m2m/dpop-proof";
import { checkCanonicalEncoding } from "./encoding.js";
import { BearerError, InvalidTokenError } from "./errors.js";

/** Finds the key a protected header names (a jose key resolver); throws a `BearerError` when there is none. */
export type KeyResolver = CompactVerifyGetKey;

/** A JWS whose signature verified: its protected header and its payload, as bytes. */
export interface VerifiedJws {
  readonly header: CompactJWSHeaderParameters & Record<string, unknown>;
  readonly payload: Uint8Array;
}

/**
 * The signature-and-header path of every access token, and nothing about
 * access tokens: `createVerifier` runs each token through it, then checks
 * the claims of the payload it returns. It is its own function so that it
 * can be tested with JWS that are not access tokens (Google's Wycheproof
 * vectors, in test/wycheproof.test.ts), through the very code a token takes.
 *
 * In order, each refusal an {@link InvalidTokenError}:
 * 1. every part canonical base64url (RFC 7515 §2), before anything reads it;
 * 2. the protected header a JSON object with no member name twice
 *    (RFC 7515 §5.2), and no RFC 7797 unencoded payload (`b64: false`),
 *    before any key is looked up;
 * 3. through jose's `compactVerify`: three parts, `crit` naming only what is
 *    understood (RFC 7515 §4.1.11), `alg` on the allow-list (checked before
 *    the key is asked for, so `none` and `HS256` never reach a key), the key
 *    from `resolveKey` (the issuer's JWK Set: never `jwk`, `jku`, `x5u` or
 *    `x5c` from the header), and the signature.
 *
 * Anything else it throws is a fault of the server, not of the token.
 */
export async function verifyCompactJws(token: string, resolveKey: KeyResolver, algorithms: readonly string[]): Promise<VerifiedJws> {
  checkCanonicalEncoding(token);
  const header = parseJsonObject(Buffer.from(token.split(".", 1)[0]!, "base64url"));
  if (header === undefined || ("b64" in header && header.b64 !== true)) throw new InvalidTokenError("the access token is malformed");
  try {
    const { protectedHeader, payload } = await compactVerify(token, resolveKey, { algorithms: [...algorithms] });
    return { header: protectedHeader as VerifiedJws["header"], payload };
  } catch (error) {
    throw asBearerError(error);
  }
}

/** jose's errors, as the `invalid_token` sentence a client may see. Unknown errors pass through (they become 500). */
export function asBearerError(error: unknown): unknown {
  if (error instanceof BearerError) return error;
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new InvalidTokenError("the access token's algorithm is not accepted");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return new InvalidTokenError("the access token's signature is invalid");
  if (error instanceof errors.JOSEError) return new InvalidTokenError("the access token is malformed");
  return error;
}
