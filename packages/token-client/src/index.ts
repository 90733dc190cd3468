/**
 * Acquisition of access tokens with the OAuth 2.0 client credentials grant
 * (RFC 6749 §4.4): discovery (RFC 8414), client authentication, a cache with
 * refresh ahead, one request in flight however many callers wait, bounded
 * retries, and an axios integration that sends the token and retries once on
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

/** Axios: `Authorization: Bearer` on every request, one retry with a new token on `invalid_token` (RFC 6750 §3.1). */
export { withBearerToken } from "./axios.js";
export type { BearerTokenOptions, TokenSource } from "./axios.js";

/** What acquisition throws: refused (permanent), unavailable (try later), or an answer that breaks the protocol. */
export { AuthServerUnavailableError, InvalidResponseError, TokenClientError, TokenRequestError } from "./errors.js";
