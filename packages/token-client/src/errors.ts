/**
 * Errors of token acquisition. Two families, so a caller can tell "the
 * authorization server said no" (fix the configuration, do not retry) from
 * "the authorization server could not be reached" (try again later):
 *
 * - {@link TokenRequestError}: the token endpoint answered an OAuth error
 *   (RFC 6749 §5.2) that retrying cannot fix.
 * - {@link AuthServerUnavailableError}: network failure, timeout, `5xx` or
 *   `429`, after the bounded retries were spent.
 *
 * {@link InvalidResponseError} covers an answer that is not OAuth at all
 * (metadata for another issuer, a token response without a token).
 *
 * None of them ever carries a credential: no request headers, no request
 * body, no underlying axios error (whose `config` holds both).
 */
export abstract class TokenClientError extends Error {
  /**
   * The error code: the server's OAuth `error` for {@link TokenRequestError},
   * else this package's own stable code.
   */
  abstract readonly code: string;
}

/**
 * The token endpoint refused the request with an RFC 6749 §5.2 error:
 * `invalid_client`, `invalid_scope`, `invalid_target` (RFC 8707),
 * `unauthorized_client`, `invalid_request`, `unsupported_grant_type`, or any
 * other code sent with a `4xx`. Permanent: the same request would be refused
 * again, so it is never retried.
 */
export class TokenRequestError extends TokenClientError {
  override name = "TokenRequestError";

  constructor(
    /** The RFC 6749 §5.2 `error` code, e.g. `invalid_scope`. */
    readonly code: string,
    /** The server's `error_description`, if any. */
    readonly description: string | undefined,
    /** The HTTP status of the answer. */
    readonly status: number,
  ) {
    super(`token request refused: ${code}${description ? ` (${description})` : ""}`);
  }
}

/**
 * The authorization server could not be reached or was not able to answer:
 * connection refused or reset, timeout, `5xx`, `429`. Raised once the bounded
 * retries are spent; a later attempt may succeed.
 */
export class AuthServerUnavailableError extends TokenClientError {
  override name = "AuthServerUnavailableError";
  readonly code = "auth_server_unavailable";

  constructor(
    message: string,
    readonly details: {
      /** HTTP status of the last answer, when there was one. */
      status?: number;
      /** Network error code of the last attempt (`ECONNREFUSED`, `ECONNABORTED`...). */
      networkCode?: string;
      /** How many requests were made. */
      attempts: number;
      /** The server's `Retry-After`, in seconds, when it sent one. */
      retryAfterSeconds?: number;
    },
  ) {
    super(message);
  }
}

/**
 * An answer that breaks the protocol: RFC 8414 metadata whose `issuer` is not
 * the expected one (§3.3), a token response without `access_token` or with a
 * `token_type` other than `Bearer` (RFC 6749 §5.1), a body that is not JSON.
 * Not retried: it points at a misconfiguration.
 */
export class InvalidResponseError extends TokenClientError {
  override name = "InvalidResponseError";
  readonly code = "invalid_response";

  constructor(
    message: string,
    /** The HTTP status of the answer. */
    readonly status: number,
  ) {
    super(message);
  }
}
