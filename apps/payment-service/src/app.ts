import type { IncomingMessage, RequestListener } from "node:http";
import { createBaseApp, finishApp, withFastLane, type Logger } from "@m2m/service-kit";
import { authorizationFields, BearerGuard, type TokenVerifier } from "@m2m/token-verifier";
import { guardMiddleware, requireAccessToken } from "@m2m/token-verifier/express";
import { Charges } from "./charges/charges.js";
import { chargeFastRoute } from "./charges/fast-route.js";
import type { CardProcessor } from "./charges/processor.js";
import { createChargesRouter } from "./charges/router.js";
import type { ChargeStore } from "./charges/store.js";

/** The protection space of every challenge, as CONTRACT.md writes it. */
export const REALM = "payment-service";

export interface AppDeps {
  logger: Logger;
  verifier: TokenVerifier;
  store: ChargeStore;
  processor: CardProcessor;
  /** Milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number;
  /** `/readyz` is 200 only while this is true (and the JWK Set is loaded). Default: always. */
  accepting?: () => boolean;
}

/**
 * payment-service: `POST /charge` needs a valid access token with scope
 * `charge:customer`, `GET /charges/:id` one with `charge:read` (CONTRACT.md).
 * The token is checked before the body is even parsed. `/readyz` is 200 only
 * once the issuer's JWK Set is held. A plain `POST /charge` (a JSON body of
 * known length) is served in front of Express by the service kit's fast
 * lane, with the same guard and the same {@link Charges}; every other
 * request by the Express app.
 */
export function createApp(deps: AppDeps): RequestListener {
  const { logger, verifier } = deps;
  const charges = new Charges({ store: deps.store, processor: deps.processor, logger, clock: deps.clock });
  // one guard for POST /charge, whichever path serves the request
  const chargeGuard = new BearerGuard(verifier, { realm: REALM, scope: "charge:customer", logger });
  const app = createBaseApp({ logger, ready: () => verifier.ready && (deps.accepting?.() ?? true) });
  app.post("/charge", guardMiddleware(chargeGuard));
  app.get("/charges/:id", requireAccessToken(verifier, { realm: REALM, scope: "charge:read", logger }));
  app.use(createChargesRouter(charges));

  const authenticate = async (req: IncomingMessage) => (await chargeGuard.check({ authorization: authorizationFields(req.rawHeaders) })).claims.client_id;
  return withFastLane(finishApp(app, logger), [chargeFastRoute(charges, authenticate)], logger);
}
