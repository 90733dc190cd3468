import { createBaseApp, finishApp, type Logger, type Registry } from "@m2m/service-kit";
import type { TokenIssuer } from "@m2m/token-issuer";
import { oauthRouter } from "@m2m/token-issuer/express";
import type { Express } from "express";

export interface AuthServerDeps {
  /** The issuance core: registry, keys, clock, limiter are inside it. */
  issuer: TokenIssuer;
  logger: Logger;
  /** `/readyz` is 200 while this says so (keys loaded, not shutting down). */
  ready: () => boolean;
  /** Served on `GET /metrics` (the issuer's counts are fed into it by the listeners in its options). */
  metrics?: Registry;
}

/**
 * The JWK Set's `Cache-Control: max-age`, seconds: how long a resource server
 * may go on using the key set it fetched. A rotated-in key must be published
 * at least this long (plus `KEY_RELOAD_INTERVAL`) before it signs.
 */
export const JWKS_MAX_AGE_SECONDS = 60;

/**
 * The authorization server: `POST /token`, `POST /introspect`, RFC 8414
 * metadata and the JWK Set, on the shared base (security headers, request
 * span and log, health, metrics) and the shared error renderer. No
 * listening, no timers.
 */
export function createApp(deps: AuthServerDeps): Express {
  const app = createBaseApp({ logger: deps.logger, ready: deps.ready, metrics: deps.metrics });
  app.use(oauthRouter(deps.issuer, { jwksMaxAge: JWKS_MAX_AGE_SECONDS }));
  return finishApp(app, deps.logger);
}
