/**
 * OAuth 2.0 errors of the token and introspection endpoints, one class per
 * RFC error code. Each carries its HTTP status, its headers and `expose: true`,
 * and renders as `{ error, error_description }` (RFC 6749 §5.2), which is the
 * shape the service-kit error handler writes out.
 *
 * Descriptions are written for the client: they never hold a secret, a token
 * or an internal detail.
 */
export class OAuthError extends Error {
  /** Safe to show the client: the handler renders `toJSON()` as is. */
  readonly expose = true as const;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    /** The RFC error code, e.g. `invalid_client`: the `error` member of the answer. */
    readonly code: string,
    readonly status: number,
    readonly description: string,
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = new.target.name;
    // RFC 6749 §5.1/§5.2: token responses, errors included, are never cached.
    this.headers = { "Cache-Control": "no-store", Pragma: "no-cache", ...headers };
  }

  toJSON(): { error: string; error_description: string } {
    return { error: this.code, error_description: this.description };
  }
}

/**
 * RFC 6749 §5.2: "The request is missing a required parameter, includes an
 * unsupported parameter value (other than grant type), repeats a parameter,
 * includes multiple credentials, utilizes more than one mechanism for
 * authenticating the client, or is otherwise malformed."
 */
export class InvalidRequestError extends OAuthError {
  constructor(description: string, status = 400) {
    super("invalid_request", status, description);
  }
}

/**
 * RFC 6749 §5.2: "Client authentication failed (e.g., unknown client, no
 * client authentication included, or unsupported authentication method)."
 * When the client tried HTTP Basic, the answer is 401 with a
 * `WWW-Authenticate` header naming the scheme it used.
 *
 * Every failure gets the same description, whatever went wrong, so that no
 * answer tells a registered client id from an unknown one or discloses
 * anything about a client's keys; what went wrong is `reason`, for the log.
 */
export class InvalidClientError extends OAuthError {
  constructor(
    /** What went wrong, for the log only: never sent to the client. */
    readonly reason: string,
    options: { basicRealm?: string } = {},
  ) {
    super(
      "invalid_client",
      401,
      "client authentication failed",
      options.basicRealm === undefined ? {} : { "WWW-Authenticate": `Basic realm="${options.basicRealm}"` },
    );
  }
}

/**
 * RFC 6749 §5.2: "The authorization grant type is not supported by the
 * authorization server."
 */
export class UnsupportedGrantTypeError extends OAuthError {
  constructor(description: string) {
    super("unsupported_grant_type", 400, description);
  }
}

/**
 * RFC 6749 §5.2: "The requested scope is invalid, unknown, malformed, or
 * exceeds the scope granted by the resource owner."
 */
export class InvalidScopeError extends OAuthError {
  constructor(description: string) {
    super("invalid_scope", 400, description);
  }
}

/**
 * RFC 8707 §2: "The requested resource is invalid, missing, unknown, or
 * malformed." Also used for the `audience` parameter and for scopes that
 * span several resource servers.
 */
export class InvalidTargetError extends OAuthError {
  constructor(description: string) {
    super("invalid_target", 400, description);
  }
}

/**
 * RFC 9449 §5: "If the DPoP proof is invalid, the authorization server
 * issues an error response per Section 5.2 of [RFC6749] with
 * invalid_dpop_proof as the value of the error parameter." Also the answer
 * when a client registered with `dpop_bound_access_tokens` sends no proof
 * (RFC 9449 §5.2: the server "MUST reject token requests from this client
 * that do not contain the DPoP header").
 *
 * Every refusal gets the same description: which check failed would tell
 * whoever holds a stolen proof or key what to change. What went wrong is
 * `reason`, for the log.
 */
export class InvalidDPoPProofError extends OAuthError {
  constructor(
    /** Which RFC 9449 §4.3 check failed, for the log only: never sent to the client. */
    readonly reason: string,
  ) {
    super("invalid_dpop_proof", 400, "the DPoP proof is not valid for this request");
  }
}

/**
 * RFC 9449 §8: the server requires a nonce in DPoP proofs and the proof had
 * none, or one that is no longer current: "the authorization server responds
 * with an HTTP 400 (Bad Request) ... the error code use_dpop_nonce ... [and]
 * a DPoP-Nonce HTTP header with the nonce value". The client makes a new
 * proof with that nonce and sends the request once more.
 */
export class UseDPoPNonceError extends OAuthError {
  constructor(
    /** The nonce to put in the next proof. */
    readonly nonce: string,
  ) {
    super("use_dpop_nonce", 400, "the authorization server requires a nonce in the DPoP proof", { "DPoP-Nonce": nonce });
  }
}

/**
 * Too many failed authentications (RFC 6585 §4, RFC 6819 §5.1.4.2.3 advice on
 * brute force). RFC 6749 has no code for it; `temporarily_unavailable`
 * (RFC 6749 §4.1.2.1) is the closest registered one and tells a client to
 * come back later, when `Retry-After` says.
 */
export class TooManyRequestsError extends OAuthError {
  constructor(
    description: string,
    readonly retryAfterSeconds: number,
  ) {
    super("temporarily_unavailable", 429, description, { "Retry-After": String(retryAfterSeconds) });
  }
}

/** RFC 6749 §4.1.2.1 `server_error`, for a state the server cannot serve from (e.g. no signing key). */
export class ServerError extends OAuthError {
  constructor(description = "the authorization server cannot serve this request now", status = 503) {
    super(status === 503 ? "temporarily_unavailable" : "server_error", status, description);
  }
}

/**
 * A store the request needs cannot answer now (the failure counts, the
 * used-identifier cache, the trusted callers): `503 temporarily_unavailable`
 * with `Retry-After` (RFC 6749 §4.1.2.1, RFC 9110 §15.6.4). The token
 * endpoint fails closed: a request whose checks cannot be made is refused,
 * never let through unchecked. Store implementations throw this for an
 * outage (connection refused, timed out), so the answer is the same whichever store failed.
 */
export class StoreUnavailableError extends OAuthError {
  constructor(
    /** Which store, for the log only: never sent to the client. */
    readonly store: string,
    readonly retryAfterSeconds = 3,
  ) {
    super("temporarily_unavailable", 503, "the authorization server cannot check this request now; retry shortly", {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}
