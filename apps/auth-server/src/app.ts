import type { RequestListener } from "node:http";
import { createBaseApp, finishApp, withFastLane, type Logger } from "@m2m/service-kit";
import type { TokenIssuer } from "@m2m/token-issuer";
import { oauthRouter, tokenFastRoute } from "@m2m/token-issuer/express";

export interface AuthServerDeps {
  /** The issuance core: registry, keys, clock, limiter are inside it. */
  issuer: TokenIssuer;
  logger: Logger;
  /** `/readyz` is 200 while this says so (keys loaded, not shutting down). */
  ready: () => boolean;
}

/**
 * The authorization server: `POST /token`, `POST /introspect`, RFC 8414
 * metadata and the JWK Set, on the shared base (security headers, request
 * log, health) and the shared error renderer. A plain `POST /token` (a form
 * of known length) is served in front of Express by the service kit's fast
 * lane, with the same checks and answers; every other request, odd token
 * requests included, by the Express app. No listening, no timers.
 */
export function createApp(deps: AuthServerDeps): RequestListener {
  const app = createBaseApp({ logger: deps.logger, ready: deps.ready });
  app.use(oauthRouter(deps.issuer));
  return withFastLane(finishApp(app, deps.logger), [tokenFastRoute(deps.issuer)], deps.logger);
}
