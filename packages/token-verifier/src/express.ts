import type { NextFunction, Request, RequestHandler, Response } from "express";
import { extractBearerToken } from "./bearer.js";
import type { AccessTokenClaims } from "./claims.js";
import { BearerError, InsufficientScopeError } from "./errors.js";
import { hasScopes, parseScope } from "./scope.js";
import type { TokenVerifier, VerifiedAccessToken } from "./verifier.js";

/** The part of a pino-like logger the middleware uses. */
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
   * own logger (`req.log`, set by pino-http), else nowhere. When given (and
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
   * than with a separate {@link requireScope} makes one log event per
   * request, whose `checks` include the scope.
   */
  scope?: string | readonly string[];
}

/**
 * Express middleware for a protected resource (RFC 6750): takes the Bearer
 * token from the `Authorization` header (see `extractBearerToken` for what
 * is refused and why), verifies it, checks `scope` if asked to, and puts the
 * claims on `res.locals.auth`. Every refusal goes to `next(error)` as a
 * `BearerError` carrying its status, `WWW-Authenticate` and body, for the
 * app's error renderer.
 *
 * Logs `token.verified` {client_id, sub, aud, iss, scope, kid, alg, exp,
 * checks, cached, expires_in} or `token.rejected` {status, error,
 * error_description}; never the token.
 */
export function requireAccessToken(verifier: TokenVerifier, options: RequireAccessTokenOptions): RequestHandler {
  const required = options.scope === undefined ? [] : typeof options.scope === "string" ? parseScope(options.scope) : [...options.scope];
  // keyed by the frozen claims object the verifier's cache hands out: gone when the token leaves the cache
  const announcers = new WeakMap<AccessTokenClaims, EventLogger>();
  return (req, res, next) => {
    let token: string;
    try {
      token = extractBearerToken({
        authorization: req.headersDistinct.authorization,
        tokenInQuery: hasQueryToken(req.url),
        tokenInBody: hasBodyToken(req.body),
      });
    } catch (error) {
      reject(req, error, options, next);
      return;
    }
    verifier.verify(token).then(
      (verified) => {
        if (!hasScopes(verified.scopes, required)) {
          reject(req, new InsufficientScopeError(required.join(" ")), options, next);
          return;
        }
        res.locals.auth = verified.claims;
        announceVerified(req, verified, required, options, announcers);
        next();
      },
      (error: unknown) => reject(req, error, options, next),
    )
      // a throwing logger must become a 500, not an unhandled rejection
      .catch(next);
  };
}

/**
 * Express middleware that lets a request through only if the verified access
 * token (from {@link requireAccessToken}, earlier in the chain) grants every
 * one of `scope`; otherwise `insufficient_scope` (403) with `scope` in the
 * challenge (RFC 6750 §3.1). Matching is exact, token by token (RFC 6749 §3.3).
 */
export function requireScope(scope: string | readonly string[], options: GuardOptions): RequestHandler {
  const required = typeof scope === "string" ? parseScope(scope) : [...scope];
  if (required.length === 0) throw new TypeError("requireScope needs at least one scope");
  return (req, res, next) => {
    const claims = res.locals.auth as AccessTokenClaims | undefined;
    if (claims === undefined) {
      next(new Error("requireScope must come after requireAccessToken"));
      return;
    }
    if (!hasScopes(parseScope(claims.scope), required)) {
      reject(req, new InsufficientScopeError(required.join(" ")), options, next);
      return;
    }
    next();
  };
}

/** The verified claims `requireAccessToken` put on the response, typed. Throws if there are none. */
export function accessTokenClaims(res: Response): AccessTokenClaims {
  const claims = res.locals.auth as AccessTokenClaims | undefined;
  if (claims === undefined) throw new Error("no verified access token on this request: mount requireAccessToken first");
  return claims;
}

function reject(req: Request, error: unknown, options: GuardOptions, next: NextFunction): void {
  if (error instanceof BearerError) {
    error.realm ??= options.realm;
    const log = loggerFor(req, options);
    const event = { status: error.status, error: error.code ?? "unauthorized", error_description: error.description };
    if (error.status >= 500) (log?.warn ?? log?.info)?.call(log, event, "token.rejected");
    else log?.info(event, "token.rejected");
  }
  next(error);
}

function loggerFor(req: Request, options: GuardOptions): EventLogger | undefined {
  return options.logger ?? (req as Request & { log?: EventLogger }).log;
}

function hasQueryToken(url: string): boolean {
  const start = url.indexOf("?");
  return start !== -1 && new URLSearchParams(url.slice(start + 1)).has("access_token");
}

function hasBodyToken(body: unknown): boolean {
  return typeof body === "object" && body !== null && Object.hasOwn(body, "access_token");
}

/**
 * Logs `token.verified`: who, for what, each check passed in words (the facts
 * of the token, the same on every use), then what is particular to this
 * request: whether the signature check was served from the cache, and the
 * seconds left before `exp`.
 */
function announceVerified(
  req: Request,
  verified: VerifiedAccessToken,
  scopes: readonly string[],
  options: GuardOptions,
  announcers: WeakMap<AccessTokenClaims, EventLogger>,
): void {
  const log = loggerFor(req, options);
  // A token's first verification is news (info); its repeats, served from the
  // cache, are one line per request that says nothing new (debug): at info
  // they were two thirds of what authentication cost per request.
  const level = verified.cached && log?.debug ? "debug" : "info";
  if (!log || log.isLevelEnabled?.(level) === false) return;
  const now = { cached: verified.cached, expires_in: verified.claims.exp - verified.checkedAt };
  if (verified.cached && log === options.logger && typeof log.child === "function") {
    let announcer = announcers.get(verified.claims);
    if (announcer === undefined) {
      announcer = log.child(tokenFacts(verified, scopes));
      announcers.set(verified.claims, announcer);
    }
    emit(announcer, level, now);
  } else {
    emit(log, level, { ...tokenFacts(verified, scopes), ...now });
  }
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
