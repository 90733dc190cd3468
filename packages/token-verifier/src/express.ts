import type { Request, RequestHandler, Response } from "express";
import { headerFields, type BearerRequest } from "./bearer.js";
import type { AccessTokenClaims } from "./claims.js";
import { InsufficientScopeError } from "./errors.js";
import { BearerGuard, requiredScopes, type GuardOptions } from "./guard.js";
import { hasScopes, scopeTokens } from "./scope.js";
import type { TokenVerifier } from "./verifier.js";

/**
 * Express middleware for a protected resource (RFC 6750, RFC 9449 §7): a
 * {@link BearerGuard} on the request (its `Authorization` and `DPoP` header
 * fields, whether the query string or a parsed body carries an
 * `access_token`, and for the `DPoP` scheme its method and URI), the
 * verified token's claims then on `res.locals.auth`. Every refusal goes to
 * `next(error)` as a `BearerError` carrying its status, `WWW-Authenticate`
 * and JSON body: mount an error handler that renders `status`, `headers`
 * and `toJSON()` of errors with `expose: true`.
 *
 * The URI a proof's `htu` must name is the DPoP verifier's `publicUrl` and
 * the request's path; without `publicUrl`, the request's protocol and
 * `Host`, as Express reads them: `X-Forwarded-Proto` and `X-Forwarded-Host`
 * only when the app's `trust proxy` setting trusts the peer.
 *
 * When nonces are required, an answer to a DPoP request carries the current
 * one in `DPoP-Nonce` (RFC 9449 §8.2), so the client's next proof has it.
 */
export function requireAccessToken(verifier: TokenVerifier, options: GuardOptions): RequestHandler {
  const guard = new BearerGuard(verifier, options);
  const dpop = options.dpop?.mode === "off" ? undefined : options.dpop;
  return (req, res, next) => {
    const request: BearerRequest = {
      authorization: headerFields(req.rawHeaders, "authorization"),
      tokenInQuery: hasQueryToken(req.url),
      tokenInBody: hasBodyToken(req.body),
    };
    const usesDPoP = dpop !== undefined && DPOP_SCHEME.test((request.authorization as string[])[0] ?? "");
    if (usesDPoP) {
      request.dpop = headerFields(req.rawHeaders, "dpop");
      request.method = req.method;
      request.url = requestUri(req, dpop.publicUrl);
    }
    guard.check(request).then((verified) => {
      res.locals.auth = verified.claims;
      const nonce = usesDPoP ? dpop.nonce() : undefined;
      if (nonce !== undefined) res.set("DPoP-Nonce", nonce);
      next();
    }, next);
  };
}

const DPOP_SCHEME = /^\s*dpop /i;

/** The request's URI without its query: the public origin (or the request's own) and the path as received. */
function requestUri(req: Request, publicUrl: string | undefined): string {
  const path = req.originalUrl.split("?", 1)[0]!;
  return `${publicUrl ?? `${req.protocol}://${req.host}`}${path}`;
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
