import type { Request, RequestHandler, Response } from "express";
import { authorizationFields } from "./bearer.js";
import type { AccessTokenClaims } from "./claims.js";
import { InsufficientScopeError } from "./errors.js";
import { BearerGuard, rejected, type EventLogger, type GuardOptions, type RequireAccessTokenOptions } from "./guard.js";
import { hasScopes, parseScope } from "./scope.js";
import type { TokenVerifier } from "./verifier.js";

export { BearerGuard } from "./guard.js";
export type { EventLogger, GuardedRequest, GuardOptions, RequireAccessTokenOptions } from "./guard.js";

/**
 * Express middleware for a protected resource (RFC 6750): a {@link BearerGuard}
 * on the request (the `Authorization` header fields, and whether the query
 * string or a parsed body carries an `access_token`), the verified claims
 * then on `res.locals.auth`. Every refusal goes to `next(error)` as a
 * `BearerError` carrying its status, `WWW-Authenticate` and body, for the
 * app's error renderer.
 */
export function requireAccessToken(verifier: TokenVerifier, options: RequireAccessTokenOptions): RequestHandler {
  return guardMiddleware(new BearerGuard(verifier, options));
}

/**
 * {@link requireAccessToken} for a guard the app already has, e.g. one it
 * also uses outside Express, so both paths share its state and its events.
 */
export function guardMiddleware(guard: BearerGuard): RequestHandler {
  return (req, res, next) => {
    guard
      .check({
        authorization: authorizationFields(req.rawHeaders),
        tokenInQuery: hasQueryToken(req.url),
        tokenInBody: hasBodyToken(req.body),
        log: requestLogger(req),
      })
      .then((verified) => {
        res.locals.auth = verified.claims;
        next();
      }, next);
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
      next(rejected(new InsufficientScopeError(required.join(" ")), options.realm, options.logger ?? requestLogger(req)));
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

function requestLogger(req: Request): EventLogger | undefined {
  return (req as Request & { log?: EventLogger }).log;
}

function hasQueryToken(url: string): boolean {
  const start = url.indexOf("?");
  return start !== -1 && new URLSearchParams(url.slice(start + 1)).has("access_token");
}

function hasBodyToken(body: unknown): boolean {
  return typeof body === "object" && body !== null && Object.hasOwn(body, "access_token");
}
