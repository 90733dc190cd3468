import { extractAccessToken, type BearerRequest, type PresentedToken } from "./bearer.js";
import type { DPoPVerifier, VerifiedDPoPProof } from "./dpop.js";
import { BearerError, InsufficientScopeError, InvalidDPoPProofError, InvalidTokenError, UseDPoPNonceError } from "./errors.js";
import { hasScopes, requiredScopeTokens } from "./scope.js";
import { inSpan, tracedListeners } from "./tracing.js";
import type { TokenVerifier, VerifiedAccessToken } from "./verifier.js";

/** What {@link GuardOptions.onVerified} is told: a request's token passed every check. */
export interface TokenVerifiedEvent {
  readonly token: VerifiedAccessToken;
  /** For a DPoP-bound token (RFC 9449 §7): what its proof proved, the key's thumbprint first. */
  readonly dpop?: VerifiedDPoPProof;
  /**
   * The checks that passed, in words (`"aud payment-service"`, `"scope
   * charge:customer"`, …), for a log line or a trace. Built when read.
   */
  readonly checks: readonly string[];
}

/** What {@link GuardOptions.onRejected} is told: the answer the request gets. */
export interface TokenRejectedEvent {
  readonly error: BearerError;
}

export interface GuardOptions {
  /** The protection space named in every challenge (RFC 7235 §2.2), e.g. `payment-service`. */
  realm: string;
  /** Scope tokens the access token must all grant (RFC 6749 §3.3), space-delimited or a list. */
  scope?: string | readonly string[];
  /**
   * DPoP (RFC 9449): one {@link DPoPVerifier} per resource server, shared by
   * its routes, whose `mode` says which schemes are taken. Without it, only
   * `Bearer`, and a DPoP-bound token is refused (it could not be checked).
   */
  dpop?: DPoPVerifier;
  /** Called for every request let through (log `token.verified` here). */
  onVerified?: (event: TokenVerifiedEvent) => void;
  /** Called for every request refused (log `token.rejected` here). */
  onRejected?: (event: TokenRejectedEvent) => void;
}

/**
 * The checks of a protected resource (RFC 6750, and RFC 9449 §7 for
 * DPoP-bound tokens), framework-free: takes the token from the
 * `Authorization` header (see `extractAccessToken` for what is refused and
 * why), verifies it, checks that a DPoP-bound token came with the `DPoP`
 * scheme and a valid proof of its key (and that a token sent with the `DPoP`
 * scheme is bound), then checks the required scope. Resolves with the
 * verified token; rejects with a `BearerError` carrying its status,
 * `WWW-Authenticate` (with this guard's realm; a `DPoP` challenge with
 * `algs` for requests that used DPoP or where it is required) and body.
 * Anything else it rejects with is a fault of the server, not of the request.
 */
export class BearerGuard {
  private readonly required: readonly string[];
  private readonly dpop: DPoPVerifier | undefined;
  /** The `on*` listeners of the options, each after describing its event on the active span. */
  private readonly events: ReturnType<typeof tracedListeners>;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly options: GuardOptions,
  ) {
    this.required = options.scope === undefined ? [] : requiredScopes(options.scope);
    this.dpop = options.dpop?.mode === "off" ? undefined : options.dpop;
    this.events = tracedListeners(options);
  }

  /** The checks of step 5 for one request, in a `BearerGuard.check` span that its events describe. */
  check(request: BearerRequest): Promise<VerifiedAccessToken> {
    return inSpan("BearerGuard.check", () => this.checkRequest(request));
  }

  private async checkRequest(request: BearerRequest): Promise<VerifiedAccessToken> {
    let presented: PresentedToken | undefined;
    let verified: VerifiedAccessToken;
    let proof: VerifiedDPoPProof | undefined;
    try {
      presented = extractAccessToken(request, this.dpop?.mode ?? "off");
      verified = await this.verifier.verify(presented.token);
      proof = await this.checkBinding(presented, verified, request);
      if (!hasScopes(verified.scopes, this.required)) throw new InsufficientScopeError(this.required.join(" "));
    } catch (error) {
      throw this.refusal(error, presented?.scheme);
    }
    const required = this.required;
    this.events.onVerified({
      token: verified,
      ...(proof ? { dpop: proof } : {}),
      get checks() {
        return describeChecks(verified, required, proof);
      },
    });
    return verified;
  }

  /**
   * RFC 9449 §7: a token sent with the `DPoP` scheme must be bound
   * (`cnf.jkt`) and come with a valid proof of that key; and §7.2: a bound
   * token sent as `Bearer` is refused, whatever the mode, or its binding
   * would be worth nothing.
   */
  private async checkBinding(presented: PresentedToken, verified: VerifiedAccessToken, request: BearerRequest): Promise<VerifiedDPoPProof | undefined> {
    const jkt = verified.claims.cnf?.jkt;
    if (presented.scheme === "bearer") {
      if (jkt !== undefined) throw new InvalidTokenError("the access token is DPoP-bound: send it with the DPoP scheme and a proof", this.dpopChallenge());
      return undefined;
    }
    if (jkt === undefined) throw new InvalidTokenError("the access token is not DPoP-bound: send it with the Bearer scheme");
    return this.dpop!.verify(request.dpop ?? [], { method: request.method ?? "", url: request.url ?? "", accessToken: presented.token, jkt });
  }

  /** The `DPoP` challenge's `algs`, when this resource takes DPoP at all. */
  private dpopChallenge(): { dpopAlgs?: readonly string[] } {
    return this.dpop ? { dpopAlgs: this.dpop.algorithms } : {};
  }

  /**
   * A refusal as this guard answers it: a `BearerError` gets the realm, and
   * a `DPoP` challenge (RFC 9449 §7.1) when the request used that scheme, the
   * resource requires it, or the error is one only DPoP has; then it is
   * reported.
   */
  refusal(error: unknown, scheme?: PresentedToken["scheme"]): unknown {
    if (error instanceof BearerError) {
      error.realm ??= this.options.realm;
      const dpop = scheme === "dpop" || this.dpop?.mode === "required" || error instanceof InvalidDPoPProofError || error instanceof UseDPoPNonceError;
      if (dpop && this.dpop) error.dpopAlgs ??= this.dpop.algorithms;
      this.events.onRejected({ error });
    }
    return error;
  }
}

/** A configured scope requirement, checked at start: RFC 6749 §3.3 scope tokens, at least one. */
export function requiredScopes(scope: string | readonly string[]): string[] {
  const tokens = requiredScopeTokens(typeof scope === "string" ? scope : scope.join(" "));
  if (tokens === undefined) throw new TypeError("a required scope must be one or more RFC 6749 §3.3 scope tokens");
  return tokens;
}

function describeChecks(verified: VerifiedAccessToken, scopes: readonly string[], proof: VerifiedDPoPProof | undefined): string[] {
  const { claims, header } = verified;
  return [
    `signature (${header.alg}, kid ${header.kid ?? "none"})${verified.cached ? ", verified on first use and cached" : ""}`,
    `typ ${header.typ}`,
    `iss ${claims.iss}`,
    `aud ${claims.aud}`,
    `exp ${numericDate(claims.exp)} not passed`,
    ...(claims.nbf === undefined ? [] : ["nbf passed"]),
    "iat not in the future",
    ...(proof === undefined
      ? []
      : [
          `DPoP proof signed by the token's key (${proof.alg}, cnf.jkt ${proof.jkt})`,
          "DPoP proof htm, htu and ath match this request and token, iat within the window",
          ...(proof.nonceChecked ? ["DPoP nonce current"] : []),
          "DPoP proof jti not seen before",
        ]),
    ...scopes.map((scope) => `scope ${scope}`),
  ];
}

/** A NumericDate as an ISO time when it is one a `Date` can hold; else the number itself (a hostile `exp` must not throw). */
function numericDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
