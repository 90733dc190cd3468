import { createBaseApp, finishApp, type Logger } from "@m2m/service-kit";
import type { DPoPVerifier, TokenVerifier } from "@m2m/token-verifier";
import type { Express } from "express";
import { Charges } from "./charges/charges.js";
import type { CardProcessor } from "./charges/processor.js";
import { chargeRoutes } from "./charges/routes.js";
import type { Ledger } from "./charges/ledger.js";
import { logGuardEvents } from "./events.js";
import type { PaymentMetrics } from "./metrics.js";

export interface AppDeps {
  logger: Logger;
  verifier: TokenVerifier;
  /** DPoP-bound tokens (RFC 9449 §7), with this service's mode, replay cache and nonces. Default: `off`. */
  dpop?: DPoPVerifier;
  /** Express's `trust proxy`: whose `X-Forwarded-*` headers say this service's public origin. Default `false`. */
  trustProxy?: boolean | number | string[];
  /** Charges and idempotency keys: SQLite under `DATA_DIR`, or PostgreSQL. */
  ledger: Ledger;
  processor: CardProcessor;
  /** Milliseconds since the epoch. Default `Date.now`. */
  clock?: () => number;
  /** Served on `GET /metrics`, and fed from the guard's and the ledger's events. Default: no metrics. */
  metrics?: PaymentMetrics;
  /** `/readyz` is 200 only while this is true (and the JWK Set is loaded). Default: always. */
  accepting?: () => boolean;
}

/**
 * payment-service: `POST /charge` needs a valid access token with scope
 * `charge:customer`, `GET /charges/:id` one with `charge:read` (the wire
 * contract, docs/wire-contract.md). `/readyz` is 200 only once the issuer's
 * JWK Set is held. No listening, no timers.
 */
export function createApp(deps: AppDeps): Express {
  const { logger, verifier, metrics } = deps;
  const charges = new Charges({
    ledger: deps.ledger,
    processor: deps.processor,
    logger,
    clock: deps.clock,
    ...(metrics ? { onOutcome: (outcome) => metrics.charged(outcome) } : {}),
  });
  const app = createBaseApp({ logger, ready: () => verifier.ready && (deps.accepting?.() ?? true), metrics: metrics?.registry });
  app.set("trust proxy", deps.trustProxy ?? false);
  const guardEvents = metrics ? metrics.guardEvents(logGuardEvents(logger)) : logGuardEvents(logger);
  app.use(chargeRoutes({ charges, verifier, dpop: deps.dpop, guardEvents }));
  return finishApp(app, logger);
}
