import { InvalidTokenError } from "./errors.js";

/**
 * The claims of an RFC 9068 access token, as docs/wire-contract.md describes them:
 * `iss`, `sub` (= `client_id` in the client credentials grant, RFC 9068
 * §2.2), `client_id`, `aud` (one resource server, a string), `scope`
 * (space-delimited), `iat`, `exp`, `jti`. Any other claims are kept as they
 * came. Frozen: the same object is handed to every request that presents
 * the same token.
 */
export interface AccessTokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly client_id: string;
  readonly scope: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly nbf?: number;
  readonly [claim: string]: unknown;
}

const STRING_CLAIMS = ["sub", "client_id", "jti", "scope"] as const;
// an empty scope grants nothing (insufficient_scope later), it is not a malformed token
const MAY_BE_EMPTY = new Set<string>(["scope"]);

/**
 * The RFC 9068 §2.2 required claims, with their types (RFC 7519 §4.1: `exp`,
 * `iat`, `nbf` are NumericDates). jose checks `iss`, `exp` and `nbf` values;
 * this checks that everything a handler will rely on is really there.
 */
export function checkRequiredClaims(payload: Record<string, unknown>): asserts payload is AccessTokenClaims & Record<string, unknown> {
  for (const claim of STRING_CLAIMS) {
    if (!(claim in payload)) throw new InvalidTokenError(`the access token has no ${claim} claim`);
    if (typeof payload[claim] !== "string" || (payload[claim] === "" && !MAY_BE_EMPTY.has(claim))) {
      throw new InvalidTokenError(`the access token's ${claim} claim is not ${MAY_BE_EMPTY.has(claim) ? "a string" : "a non-empty string"}`);
    }
  }
  for (const claim of ["iat", "exp"] as const) {
    if (!(claim in payload)) throw new InvalidTokenError(`the access token has no ${claim} claim`);
    if (typeof payload[claim] !== "number" || !Number.isFinite(payload[claim])) {
      throw new InvalidTokenError(`the access token's ${claim} claim is not a NumericDate`);
    }
  }
}

/**
 * The time checks, run on every use of a token, cached or not (RFC 7519
 * §4.1.4, §4.1.5; RFC 9068 §4): `exp` in the future, `nbf` and `iat` not in
 * the future, each with `toleranceSec` of leeway for clock skew.
 */
export function checkTimes(claims: AccessTokenClaims, nowSec: number, toleranceSec: number): void {
  if (claims.exp <= nowSec - toleranceSec) throw new InvalidTokenError("the access token has expired");
  if (claims.nbf !== undefined && claims.nbf > nowSec + toleranceSec) {
    throw new InvalidTokenError("the access token is not valid yet");
  }
  if (claims.iat > nowSec + toleranceSec) throw new InvalidTokenError("the access token is issued in the future");
}
