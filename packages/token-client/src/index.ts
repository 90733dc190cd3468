/**
 * Acquisition of access tokens with the OAuth 2.0 client credentials grant
 * (RFC 6749 §4.4): discovery (RFC 8414), client authentication, a cache with
 * refresh ahead, one request in flight however many callers wait, bounded
 * retries, DPoP-bound tokens (RFC 9449) on request, and an axios integration
 * that sends the token (with a proof when it is bound) and retries once on
 * `invalid_token`.
 *
 * Start with {@link TokenClient} and one of {@link clientSecretBasic},
 * {@link clientSecretPost} or {@link privateKeyJwt}; then `getToken()`, or
 * {@link withBearerToken} on the axios instance that calls the resource
 * server. It logs nothing: it tells its `on*` listeners what happened, with
 * token fingerprints only.
 *
 * @packageDocumentation
 */

/** The client: `getToken(params)`, `invalidate()`, and its events. */
export { TokenClient } from "./token-client.js";
export type {
  AccessToken,
  TokenCacheOutcome,
  TokenClientOptions,
  TokenFetchedEvent,
  TokenLookupEvent,
  TokenParams,
  TokenRefreshFailedEvent,
  TokenRequestDescription,
  TokenRetryEvent,
  TokenReusedEvent,
} from "./token-client.js";
export type { RetryPolicy } from "./retry.js";

/** Client authentication methods as values (RFC 6749 §2.3.1, RFC 7523 §2.2). */
export { clientSecretBasic, clientSecretPost, privateKeyJwt } from "./client-auth.js";
export type { ClientAuth, ClientAuthContext, ClientAuthMethod, PrivateKeyJwtOptions } from "./client-auth.js";

/** DPoP (RFC 9449): the client's key pair as a value, generated or imported; it makes the proofs and keeps the nonces. */
export { generateDPoPKey, importDPoPKey } from "./dpop.js";
export type { DPoPKey, DPoPKeyOptions, DPoPProofRequest } from "./dpop.js";

/**
 * Axios: `Authorization: Bearer` (or `DPoP` and a proof) on every request, one retry with a new token on
 * `invalid_token` (RFC 6750 §3.1), one with the server's nonce on `use_dpop_nonce` (RFC 9449 §9).
 */
export { withBearerToken } from "./axios.js";
export type { BearerTokenOptions, TokenSource } from "./axios.js";

/** What acquisition throws: refused (permanent), unavailable (try later), or an answer that breaks the protocol. */
export { AuthServerUnavailableError, InvalidResponseError, TokenClientError, TokenRequestError } from "./errors.js";
