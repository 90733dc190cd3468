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
  /** RFC 9449 §6.1: a DPoP-bound token's key, by its RFC 7638 thumbprint. */
  readonly cnf?: { readonly jkt: string };
  readonly [claim: string]: unknown;
}

/**
 * RFC 9068 §4: the `typ` header is `at+jwt`, or the same media type written
 * out (`application/at+jwt`, RFC 9068 §2.1), in any case (media types are
 * case-insensitive, RFC 6838 §4.2). Anything else (`JWT`, none) is another
 * kind of JWT signed by the same key: an ID token, a client assertion
 * (RFC 8725 §3.11).
 */
export function checkAccessTokenType(header: { readonly typ?: unknown }): void {
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase() : undefined;
  if (typ !== "at+jwt" && typ !== "application/at+jwt") throw new InvalidTokenError("the access token's type is not at+jwt");
}

const STRING_CLAIMS = ["sub", "client_id", "jti", "scope"] as const;
// an empty scope grants nothing (insufficient_scope later), it is not a malformed token
const MAY_BE_EMPTY = new Set<string>(["scope"]);

/** The largest NumericDate a `Date` can hold, either side of 1970: ±8.64e15 ms (ECMA-262 §21.4.1.1), in seconds. */
const MAX_NUMERIC_DATE = 8.64e12;

/**
 * The RFC 9068 §2.2 required claims, with their types (RFC 7519 §4.1: `exp`,
 * `iat`, `nbf` are NumericDates): everything a handler will rely on is
 * really there, and of its type. `checkTimes` then checks the times.
 *
 * A NumericDate must also be one a `Date` can hold: RFC 7519 §2 allows any
 * JSON number, but an `exp` of 1e308 is no time, and whoever formats it as
 * one (a log line, a trace) should not have to guard against it.
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
    checkNumericDate(payload, claim);
  }
  if ("nbf" in payload) checkNumericDate(payload, "nbf");
  if ("cnf" in payload) checkConfirmation(payload.cnf);
}

/**
 * RFC 7800 §3.1 / RFC 9449 §6.1: `cnf` names the key a token is bound to.
 * The one confirmation method this resource server can check is `jkt`; a
 * token confirmed by anything else (an mTLS certificate's `x5t#S256`, a
 * `jwk`...) would be usable without its key here, so it is refused.
 */
function checkConfirmation(cnf: unknown): void {
  const members = typeof cnf === "object" && cnf !== null && !Array.isArray(cnf) ? Object.keys(cnf) : [];
  const jkt = members.length === 1 && members[0] === "jkt" ? (cnf as { jkt: unknown }).jkt : undefined;
  // a SHA-256 thumbprint: 43 base64url characters (RFC 7638 §3)
  if (typeof jkt !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) {
    throw new InvalidTokenError("the access token's cnf claim is not a jkt this resource server can check");
  }
}

function checkNumericDate(payload: Record<string, unknown>, claim: "iat" | "exp" | "nbf"): void {
  const value = payload[claim];
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new InvalidTokenError(`the access token's ${claim} claim is not a NumericDate`);
  }
  if (Math.abs(value) > MAX_NUMERIC_DATE) throw new InvalidTokenError(`the access token's ${claim} claim is out of range`);
}

/**
 * Refuses a token meant to live longer than `maxLifetimeSec` (`exp - iat`).
 * RFC 9068 leaves lifetimes to the issuer, and ours issues at most a day
 * (auth-server's largest `ACCESS_TOKEN_TTL`): a longer one was not issued
 * the way this contract issues tokens (a bug, or a signing key in the
 * wrong hands), and should not be honoured for years. With the time
 * checks, it also keeps `exp` and `iat` within a day of now. Checked once,
 * at verification: the claims of a cached token do not change.
 */
export function checkLifetime(claims: AccessTokenClaims, maxLifetimeSec: number): void {
  if (claims.exp - claims.iat > maxLifetimeSec) throw new InvalidTokenError("the access token lives too long");
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
