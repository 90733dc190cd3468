import type { RequestHandler, Response } from "express";
import { authorizationFields } from "./bearer.js";
import type { AccessTokenClaims } from "./claims.js";
import { InsufficientScopeError } from "./errors.js";
import { BearerGuard, requiredScopes, type GuardOptions } from "./guard.js";
import { hasScopes, scopeTokens } from "./scope.js";
import type { TokenVerifier } from "./verifier.js";

/**
 * Express middleware for a protected resource (RFC 6750): a
 * {@link BearerGuard} on the request (its `Authorization` header fields, and
 * whether the query string or a parsed body carries an `access_token`), the
 * verified token's claims then on `res.locals.auth`. Every refusal goes to
 * `next(error)` as a `BearerError` carrying its status, `WWW-Authenticate`
 * and JSON body: mount an error handler that renders `status`, `headers`
 * and `toJSON()` of errors with `expose: true`.
 */
export function requireAccessToken(verifier: TokenVerifier, options: GuardOptions): RequestHandler {
  const guard = new BearerGuard(verifier, options);
  return (req, res, next) => {
    guard
      .check({ authorization: authorizationFields(req.rawHeaders), tokenInQuery: hasQueryToken(req.url), tokenInBody: hasBodyToken(req.body) })
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
export function requireScope(scope: string | readonly string[], options: Omit<GuardOptions, "scope" | "onVerified">): RequestHandler {
  const required = requiredScopes(scope);
  return (_req, res, next) => {
    const claims = res.locals.auth as AccessTokenClaims | undefined;
    if (claims === undefined) {
      next(new Error("requireScope must come after requireAccessToken"));
      return;
    }
    if (hasScopes(scopeTokens(claims.scope), required)) {
      next();
      return;
    }
    const error = new InsufficientScopeError(required.join(" "), { realm: options.realm });
    options.onRejected?.({ error });
    next(error);
  };
}

/** The claims of the token {@link requireAccessToken} verified for this request. Throws if there is none. */
export function accessTokenClaims(res: Response): AccessTokenClaims {
  const claims = res.locals.auth as AccessTokenClaims | undefined;
  if (claims === undefined) throw new Error("no verified access token on this request: mount requireAccessToken first");
  return claims;
}

function hasQueryToken(url: string): boolean {
  const start = url.indexOf("?");
  return start !== -1 && new URLSearchParams(url.slice(start + 1)).has("access_token");
}

function hasBodyToken(body: unknown): boolean {
  return typeof body === "object" && body !== null && Object.hasOwn(body, "access_token");
}
