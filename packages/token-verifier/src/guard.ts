import { extractBearerToken, type BearerRequest } from "./bearer.js";
import type { AccessTokenClaims } from "./claims.js";
import { BearerError, InsufficientScopeError } from "./errors.js";
import { hasScopes, parseScope } from "./scope.js";
import type { TokenVerifier, VerifiedAccessToken } from "./verifier.js";

/** The part of a pino-like logger the guard uses. */
export interface EventLogger {
  info(object: Record<string, unknown>, message: string): void;
  debug?(object: Record<string, unknown>, message: string): void;
  warn?(object: Record<string, unknown>, message: string): void;
  isLevelEnabled?(level: string): boolean;
  /** A logger that adds `bindings` to every line (pino serializes them once). */
  child?(bindings: Record<string, unknown>): EventLogger;
}

export interface GuardOptions {
  /** The protection space named in every challenge (RFC 7235 §2.2), e.g. `payment-service`. */
  realm: string;
  /**
   * Where `token.verified` and `token.rejected` go. Default: the request's
   * own logger (Express: `req.log`), else nowhere. When given (and
   * it has `child`, as pino's does), the facts of a token served from the
   * verifier's cache are serialized once, into a child logger kept as long
   * as the token is cached: logging a repeat token then costs a fraction of
   * a full event, which matters when it is most of what authentication costs.
   */
  logger?: EventLogger;
}

export interface RequireAccessTokenOptions extends GuardOptions {
  /**
   * Scope tokens the access token must all grant. Checking them here rather
   * than with a separate `requireScope` makes one log event per
   * request, whose `checks` include the scope.
   */
  scope?: string | readonly string[];
}

/** A request as the guard sees it: where a token may be, and the request's own logger if any. */
export interface GuardedRequest extends BearerRequest {
  /** Used when the guard was given no `logger`. */
  log?: EventLogger;
}

/**
 * The checks of a protected resource (RFC 6750), framework-free: takes the
 * Bearer token from the `Authorization` header (see `extractBearerToken` for
 * what is refused and why), verifies it, checks the required scope. Resolves
 * with the verified token; rejects with a `BearerError` carrying its status,
 * `WWW-Authenticate` (with this guard's realm) and body. Anything else it
 * rejects with is a fault of the server (e.g. a throwing logger).
 *
 * Logs `token.verified` {client_id, sub, aud, iss, scope, kid, alg, exp,
 * checks, cached, expires_in} (at `info` on a token's first use, at `debug`
 * when it comes from the verifier's cache) or `token.rejected` {status,
 * error, error_description}; never the token.
 */
export class BearerGuard {
  private readonly required: string[];
  // keyed by the frozen claims object the verifier's cache hands out: gone when the token leaves the cache
  private readonly announcers = new WeakMap<AccessTokenClaims, EventLogger>();

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly options: RequireAccessTokenOptions,
  ) {
    const { scope } = options;
    this.required = scope === undefined ? [] : typeof scope === "string" ? parseScope(scope) : [...scope];
  }

  async check(request: GuardedRequest): Promise<VerifiedAccessToken> {
    const log = this.options.logger ?? request.log;
    let verified: VerifiedAccessToken;
    try {
      verified = await this.verifier.verify(extractBearerToken(request));
      if (!hasScopes(verified.scopes, this.required)) throw new InsufficientScopeError(this.required.join(" "));
    } catch (error) {
      throw rejected(error, this.options.realm, log);
    }
    this.announce(verified, log);
    return verified;
  }

  /**
   * Logs `token.verified`: who, for what, each check passed in words (the facts
   * of the token, the same on every use), then what is particular to this
   * request: whether the signature check was served from the cache, and the
   * seconds left before `exp`.
   */
  private announce(verified: VerifiedAccessToken, log: EventLogger | undefined): void {
    // A token's first verification is news (info); its repeats, served from the
    // cache, are one line per request that says nothing new (debug): at info
    // they were two thirds of what authentication cost per request.
    const level = verified.cached && log?.debug ? "debug" : "info";
    if (!log || log.isLevelEnabled?.(level) === false) return;
    const now = { cached: verified.cached, expires_in: verified.claims.exp - verified.checkedAt };
    if (verified.cached && log === this.options.logger && typeof log.child === "function") {
      let announcer = this.announcers.get(verified.claims);
      if (announcer === undefined) {
        announcer = log.child(tokenFacts(verified, this.required));
        this.announcers.set(verified.claims, announcer);
      }
      emit(announcer, level, now);
    } else {
      emit(log, level, { ...tokenFacts(verified, this.required), ...now });
    }
  }
}

/** A refusal as the guard answers it: a `BearerError` gets the realm and a `token.rejected` line. */
export function rejected(error: unknown, realm: string, log: EventLogger | undefined): unknown {
  if (error instanceof BearerError) {
    error.realm ??= realm;
    const event = { status: error.status, error: error.code ?? "unauthorized", error_description: error.description };
    if (error.status >= 500) (log?.warn ?? log?.info)?.call(log, event, "token.rejected");
    else log?.info(event, "token.rejected");
  }
  return error;
}

function emit(log: EventLogger, level: "info" | "debug", fields: Record<string, unknown>): void {
  if (level === "debug" && log.debug) log.debug(fields, "token.verified");
  else log.info(fields, "token.verified");
}

function tokenFacts(verified: VerifiedAccessToken, scopes: readonly string[]): Record<string, unknown> {
  const { claims, header } = verified;
  const checks = [
    `signature (${header.alg}, kid ${header.kid ?? "none"})${verified.cached ? ", verified on first use and cached" : ""}`,
    `typ ${header.typ}`,
    `iss ${claims.iss}`,
    `aud ${claims.aud}`,
    `exp ${new Date(claims.exp * 1000).toISOString()} not passed`,
    ...(claims.nbf === undefined ? [] : ["nbf passed"]),
    "iat not in the future",
    ...scopes.map((scope) => `scope ${scope}`),
  ];
  return {
    client_id: claims.client_id,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    scope: claims.scope,
    kid: header.kid,
    alg: header.alg,
    exp: claims.exp,
    checks,
  };
}
