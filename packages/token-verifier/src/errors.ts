/**
 * The errors a resource server answers with, as RFC 6750 §3 defines them,
 * and RFC 9449 §7.1 for the DPoP scheme.
 *
 * Each error knows its HTTP status, its `WWW-Authenticate` challenge and its
 * JSON body, and carries `expose: true`, so one error renderer (service-kit's,
 * or any that honours `status`, `headers` and `toJSON()`) sends it as it is.
 * Descriptions are fixed sentences written here: they never echo the token,
 * a claim value or an internal detail.
 */
export abstract class BearerError extends Error {
  /** Safe to show to the client: the renderer sends it as it says. */
  readonly expose = true as const;
  abstract readonly status: number;
  /**
   * The error code: the `error` member of the JSON body, and of the
   * challenge (RFC 6750 §3.1) except for {@link UnauthorizedError}.
   */
  abstract readonly code: string;
  /**
   * The protection space named in the challenge (RFC 7235 §2.2). The
   * middleware sets it; an error thrown outside HTTP has none.
   */
  realm: string | undefined;
  /**
   * Set when the answer is a `DPoP` challenge (RFC 9449 §7.1): the proof
   * algorithms the resource server accepts, sent as `algs`. Unset, the
   * challenge is `Bearer` (RFC 6750 §3). The guard sets it for requests
   * that used DPoP, and for every request where DPoP is required.
   */
  dpopAlgs: readonly string[] | undefined;

  constructor(
    /** Human-readable, safe to show (RFC 6750 §3: `error_description`). */
    readonly description: string,
    options: { realm?: string; cause?: unknown; dpopAlgs?: readonly string[] } = {},
  ) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.realm = options.realm;
    this.dpopAlgs = options.dpopAlgs;
  }

  /** The auth-params of the challenge after `realm`, in the order they are sent. */
  protected challengeParams(): Array<[string, string]> {
    return [
      ["error", this.code],
      ["error_description", this.description],
    ];
  }

  /** `WWW-Authenticate`, exactly as RFC 6750 §3 (or RFC 9449 §7.1) and docs/wire-contract.md write it. */
  get headers(): Readonly<Record<string, string>> {
    if (this.dpopAlgs === undefined) return { "WWW-Authenticate": bearerChallenge(this.realm, this.challengeParams()) };
    return { "WWW-Authenticate": challenge("DPoP", this.realm, [...this.challengeParams(), ["algs", this.dpopAlgs.join(" ")]]) };
  }

  toJSON(): Record<string, unknown> {
    return { error: this.code, error_description: this.description };
  }
}

/**
 * No credentials, or credentials of a scheme this resource does not take.
 *
 * RFC 6750 §3.1: "If the request lacks any authentication information (e.g.,
 * the client was unaware that authentication is necessary or attempted using
 * an unsupported authentication method), the resource server SHOULD NOT
 * include an error code or other error information."
 *
 * The challenge is therefore `Bearer realm="..."` alone; the JSON body says
 * `unauthorized`, which is not an RFC 6750 code and never appears in the header.
 */
export class UnauthorizedError extends BearerError {
  readonly status = 401;
  /** Not an RFC 6750 code: it is in the body only, never in the challenge. */
  readonly code = "unauthorized";

  constructor(description = "this resource needs a Bearer access token", options?: { realm?: string; dpopAlgs?: readonly string[] }) {
    super(description, options);
  }

  protected override challengeParams(): Array<[string, string]> {
    return [];
  }
}

/**
 * `invalid_request`, RFC 6750 §3.1: "The request is missing a required
 * parameter, includes an unsupported parameter or parameter value, repeats
 * the same parameter, uses more than one method for including an access
 * token, or is otherwise malformed. The resource server SHOULD respond with
 * the HTTP 400 (Bad Request) status code."
 */
export class InvalidRequestError extends BearerError {
  readonly status = 400;
  readonly code = "invalid_request";
}

/**
 * `invalid_token`, RFC 6750 §3.1: "The access token provided is expired,
 * revoked, malformed, or invalid for other reasons. The resource SHOULD
 * respond with the HTTP 401 (Unauthorized) status code. The client MAY
 * request a new access token and retry the protected resource request."
 */
export class InvalidTokenError extends BearerError {
  readonly status = 401;
  readonly code = "invalid_token";
}

/**
 * `insufficient_scope`, RFC 6750 §3.1: "The request requires higher
 * privileges than provided by the access token. The resource server SHOULD
 * respond with the HTTP 403 (Forbidden) status code and MAY include the
 * "scope" attribute with the scope necessary to access the protected
 * resource."
 *
 * The challenge carries `scope` and no `error_description`, as docs/wire-contract.md
 * writes it; the body has both.
 */
export class InsufficientScopeError extends BearerError {
  readonly status = 403;
  readonly code = "insufficient_scope";

  constructor(
    /** The scope(s) the resource needs, space-delimited (RFC 6749 §3.3). */
    readonly scope: string,
    options?: { realm?: string },
  ) {
    super(`the access token does not grant the scope ${scope}`, options);
  }

  protected override challengeParams(): Array<[string, string]> {
    return [
      ["error", this.code],
      ["scope", this.scope],
    ];
  }

  override toJSON(): Record<string, unknown> {
    return { error: this.code, error_description: this.description, scope: this.scope };
  }
}

/**
 * The token may well be good, but the key it names cannot be had right now
 * (an unknown `kid` while the issuer's JWK Set cannot be fetched).
 *
 * `temporarily_unavailable` is borrowed from RFC 6749 §4.1.2.1: "The
 * authorization server is currently unable to handle the request due to a
 * temporary overloading or maintenance of the server." RFC 6750 has no code
 * for an outage, and answering `invalid_token` would make the client throw
 * away a good token: we never blame the token for our outage. Answered as
 * `503` with `Retry-After` (RFC 9110 §10.2.3) and no challenge.
 */
export class TemporarilyUnavailableError extends BearerError {
  readonly status = 503;
  readonly code = "temporarily_unavailable";

  constructor(
    /** Seconds the client should wait before retrying (at least 1). */
    readonly retryAfterSeconds: number,
    options?: { realm?: string; cause?: unknown; description?: string },
  ) {
    super(options?.description ?? "the issuer's signing keys cannot be fetched right now", options);
  }

  override get headers(): Readonly<Record<string, string>> {
    return { "Retry-After": String(Math.max(1, Math.ceil(this.retryAfterSeconds))) };
  }

  override toJSON(): Record<string, unknown> {
    return { error: this.code };
  }
}

/**
 * `invalid_dpop_proof`, RFC 9449 §7.1: "The DPoP proof is invalid": missing,
 * repeated, malformed, signed badly, for another request (`htm`, `htu`),
 * another token (`ath`) or another time (`iat`), or seen before (`jti`).
 * Answered `401` with a `DPoP` challenge.
 *
 * Every refusal gets the same description: which check failed would tell
 * the holder of a stolen token what to try next. What went wrong is
 * `reason`, for the log.
 */
export class InvalidDPoPProofError extends BearerError {
  readonly status = 401;
  readonly code = "invalid_dpop_proof";

  constructor(
    /** Which RFC 9449 §4.3 or §7 check failed, for the log only: never sent to the client. */
    readonly reason: string,
    options?: { realm?: string; dpopAlgs?: readonly string[] },
  ) {
    super("the DPoP proof is not valid for this request", options);
  }
}

/**
 * `use_dpop_nonce`, RFC 9449 §9: the resource server requires a nonce in
 * DPoP proofs and the proof had none, or a stale one. Answered `401` with a
 * `DPoP` challenge and the nonce to use in `DPoP-Nonce`; the client sends
 * the request again with a new proof.
 */
export class UseDPoPNonceError extends BearerError {
  readonly status = 401;
  readonly code = "use_dpop_nonce";

  constructor(
    /** The nonce the next proof must carry. */
    readonly nonce: string,
    options?: { realm?: string; dpopAlgs?: readonly string[] },
  ) {
    super("the resource server requires a nonce in the DPoP proof", options);
  }

  override get headers(): Readonly<Record<string, string>> {
    return { ...super.headers, "DPoP-Nonce": this.nonce };
  }
}

/**
 * Formats a Bearer challenge (RFC 6750 §3, RFC 7235 §2.1): `Bearer` then
 * comma-separated `name="value"` auth-params. Values are quoted-strings;
 * characters RFC 6750 forbids in them (`"`, `\`, controls) are dropped, so a
 * value can never break out of its quotes.
 */
export function bearerChallenge(realm: string | undefined, params: ReadonlyArray<[string, string]>): string {
  return challenge("Bearer", realm, params);
}

/** A challenge of `scheme` (RFC 7235 §2.1), as {@link bearerChallenge} writes a Bearer one. */
function challenge(scheme: "Bearer" | "DPoP", realm: string | undefined, params: ReadonlyArray<[string, string]>): string {
  const all: Array<[string, string]> = realm === undefined ? [...params] : [["realm", realm], ...params];
  if (all.length === 0) return scheme;
  return `${scheme} ${all.map(([name, value]) => `${name}="${value.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "")}"`).join(", ")}`;
}
