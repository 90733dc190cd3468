/**
 * Validation of RFC 9068 JWT access tokens at a resource server, and the
 * RFC 6750 answers when a token will not do. Framework-free; the Express
 * middleware is the `./express` subpath (`requireAccessToken`).
 *
 * Start with {@link createVerifier} (the issuer, the audience: keys are
 * discovered and cached), then guard each protected route with a
 * {@link BearerGuard} (or `requireAccessToken` in Express). It logs nothing:
 * the guard tells its `onVerified` / `onRejected` listeners, the verifier
 * its `onJwksLoaded` / `onJwksError` ones.
 *
 * @packageDocumentation
 */

/** The verifier: signature by a key of the issuer's JWK Set, `typ`, `alg`, `iss`, `aud`, times, required claims. */
export { createVerifier } from "./verifier.js";
export type { TokenVerifier, VerifiedAccessToken, VerifierOptions } from "./verifier.js";
export type { AccessTokenClaims } from "./claims.js";
export type { JwksLoadedEvent, JwksLoadReason } from "./jwks-cache.js";

/** A protected resource's checks, framework-free: the Bearer token of a request, verified, with its scope. */
export { BearerGuard } from "./guard.js";
export type { GuardOptions, TokenRejectedEvent, TokenVerifiedEvent } from "./guard.js";
export type { BearerRequest } from "./bearer.js";

/** The RFC 6750 §3.1 answers (plus 503 for an issuer outage): `status`, `headers`, `expose`, `toJSON()`. */
export {
  BearerError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  UnauthorizedError,
} from "./errors.js";
