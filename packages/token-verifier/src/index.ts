/**
 * Validation of RFC 9068 JWT access tokens at a resource server, bearer or
 * DPoP-bound (RFC 9449), and the RFC 6750 answers when a token will not do. Framework-free; the Express
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

/**
 * DPoP (RFC 9449 §7): one verifier of proofs per resource server, with its
 * mode (`off`, `allowed`, `required`), replay cache and nonces; give it to
 * the guard as `dpop`.
 */
export { createDPoPVerifier, DPOP_MODES } from "./dpop.js";
export type { DPoPMode, DPoPOptions, DPoPRequest, DPoPVerifier, VerifiedDPoPProof } from "./dpop.js";

/** A protected resource's checks, framework-free: the access token of a request, verified, bound to its proof, with its scope. */
export { BearerGuard } from "./guard.js";
export type { GuardOptions, TokenRejectedEvent, TokenVerifiedEvent } from "./guard.js";
export type { BearerRequest } from "./bearer.js";

/**
 * The RFC 6750 §3.1 answers, RFC 9449 §7.1's for DPoP (plus 503 for an
 * issuer outage): `status`, `headers`, `expose`, `toJSON()`.
 */
export {
  BearerError,
  InsufficientScopeError,
  InvalidDPoPProofError,
  InvalidRequestError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  UnauthorizedError,
  UseDPoPNonceError,
} from "./errors.js";
