import { extractBearerToken, type BearerRequest } from "./bearer.js";
import { BearerError, InsufficientScopeError } from "./errors.js";
import { hasScopes, requiredScopeTokens } from "./scope.js";
import { inSpan, tracedListeners } from "./tracing.js";
import type { TokenVerifier, VerifiedAccessToken } from "./verifier.js";

/** What {@link GuardOptions.onVerified} is told: a request's token passed every check. */
export interface TokenVerifiedEvent {
  readonly token: VerifiedAccessToken;
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
  /** Called for every request let through (log `token.verified` here). */
  onVerified?: (event: TokenVerifiedEvent) => void;
  /** Called for every request refused (log `token.rejected` here). */
  onRejected?: (event: TokenRejectedEvent) => void;
}

/**
 * The checks of a protected resource (RFC 6750), framework-free: takes the
 * Bearer token from the `Authorization` header (see `extractBearerToken` for
 * what is refused and why), verifies it, checks the required scope. Resolves
 * with the verified token; rejects with a `BearerError` carrying its status,
 * `WWW-Authenticate` (with this guard's realm) and body. Anything else it
 * rejects with is a fault of the server, not of the request.
 */
export class BearerGuard {
  private readonly required: readonly string[];
  /** The `on*` listeners of the options, each after describing its event on the active span. */
  private readonly events: ReturnType<typeof tracedListeners>;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly options: GuardOptions,
  ) {
    this.required = options.scope === undefined ? [] : requiredScopes(options.scope);
    this.events = tracedListeners(options);
  }

  /** The checks of step 5 for one request, in a `BearerGuard.check` span that its events describe. */
  check(request: BearerRequest): Promise<VerifiedAccessToken> {
    return inSpan("BearerGuard.check", () => this.checkRequest(request));
  }

  private async checkRequest(request: BearerRequest): Promise<VerifiedAccessToken> {
    let verified: VerifiedAccessToken;
    try {
      verified = await this.verifier.verify(extractBearerToken(request));
      if (!hasScopes(verified.scopes, this.required)) throw new InsufficientScopeError(this.required.join(" "));
    } catch (error) {
      throw this.refusal(error);
    }
    const required = this.required;
    this.events.onVerified({
      token: verified,
      get checks() {
        return describeChecks(verified, required);
      },
    });
    return verified;
  }

  /** A refusal as this guard answers it: a `BearerError` gets the realm and is reported. */
  refusal(error: unknown): unknown {
    if (error instanceof BearerError) {
      error.realm ??= this.options.realm;
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

function describeChecks(verified: VerifiedAccessToken, scopes: readonly string[]): string[] {
  const { claims, header } = verified;
  return [
    `signature (${header.alg}, kid ${header.kid ?? "none"})${verified.cached ? ", verified on first use and cached" : ""}`,
    `typ ${header.typ}`,
    `iss ${claims.iss}`,
    `aud ${claims.aud}`,
    `exp ${numericDate(claims.exp)} not passed`,
    ...(claims.nbf === undefined ? [] : ["nbf passed"]),
    "iat not in the future",
    ...scopes.map((scope) => `scope ${scope}`),
  ];
}

/** A NumericDate as an ISO time when it is one a `Date` can hold; else the number itself (a hostile `exp` must not throw). */
function numericDate(seconds: number): string {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString();
}
