import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { closeServer, createLogger, createMetricsRegistry, listen, serverUrl, type Logger } from "@m2m/service-kit";
import { createDPoPVerifier, createVerifier, type TokenVerifier } from "@m2m/token-verifier";
import { createApp } from "./app.js";
import { limitProcessor, type CardProcessor } from "./charges/processor.js";
import { openChargeStore } from "./charges/store.js";
import type { PaymentConfig } from "./config.js";
import { keepKeysFresh } from "./key-loader.js";
import { PaymentMetrics } from "./metrics.js";

/** The ledger's file name under `DATA_DIR`. */
export const LEDGER_FILE = "payments.db";

export interface StartOptions {
  logger?: Logger;
  /** Who approves charges. Default: decline above `CHARGE_LIMIT`. */
  processor?: CardProcessor;
  /** For tests: a fixed clock. */
  clock?: () => number;
}

export interface RunningPaymentService {
  server: Server;
  url: string;
  verifier: TokenVerifier;
  /** Stop being ready and stop background work (first step of a shutdown). */
  stopAccepting(): void;
  /** Close what the server used (last step of a shutdown, after the server has closed). */
  closeResources(): void;
  /** The whole shutdown: stop, close the server, close the ledger. */
  close(): Promise<void>;
}

/**
 * Everything `main` does but signal handling: opens the ledger under
 * `DATA_DIR`, listens, and loads the issuer's keys in the background, again
 * every `JWKS_MAX_AGE`. Never fails because the auth server is down:
 * `/readyz` says 503 until the keys are in, and again once no fetch has
 * worked for `JWKS_MAX_STALE`.
 */
export async function startPaymentService(config: PaymentConfig, options: StartOptions = {}): Promise<RunningPaymentService> {
  const logger = options.logger ?? createLogger({ service: "payment-service" });
  mkdirSync(config.dataDir, { recursive: true });
  const store = openChargeStore(join(config.dataDir, LEDGER_FILE));
  const metrics = new PaymentMetrics(createMetricsRegistry());
  const verifier = createVerifier({
    issuer: config.issuer,
    audience: config.audience,
    metadataUrl: `${config.authServerUrl}/.well-known/oauth-authorization-server`,
    maxAgeMs: config.jwksMaxAgeMs,
    maxStaleMs: config.jwksMaxStaleMs,
    clock: options.clock,
    ...metrics.jwksEvents({
      // a refresh every JWKS_MAX_AGE that finds the same keys is no news
      onJwksLoaded: ({ kids, changed, reason }) => logger[changed ? "info" : "debug"]({ kids, changed, reason }, "jwks.loaded"),
      onJwksError: (error) => logger.warn({ error: error.message }, "jwks.failed"),
    }),
  });
  const dpop = createDPoPVerifier({
    mode: config.dpop.mode,
    requireNonce: config.dpop.requireNonce,
    ...(config.dpop.publicUrl ? { publicUrl: config.dpop.publicUrl } : {}),
    ...(config.dpop.nonceSecret ? { nonceSecret: config.dpop.nonceSecret } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  let accepting = true;
  const app = createApp({
    logger,
    verifier,
    dpop,
    trustProxy: config.trustProxy,
    store,
    processor: options.processor ?? limitProcessor(config.chargeLimit),
    clock: options.clock,
    metrics,
    accepting: () => accepting,
  });
  let server: Server;
  try {
    server = await listen(app, config.port, config.host, config.http);
  } catch (error) {
    store.close();
    throw error;
  }
  const stopRefreshingKeys = keepKeysFresh(verifier, config.jwksMaxAgeMs);
  const url = serverUrl(server);
  logger.info(
    {
      url,
      issuer: config.issuer,
      audience: config.audience,
      charge_limit: config.chargeLimit,
      dpop_mode: dpop.mode,
      // without PUBLIC_URL a client's own Host header picks the origin its proofs are checked against
      dpop_htu_origin: dpop.publicUrl ?? "from the request",
    },
    "service.started",
  );

  const stopAccepting = () => {
    accepting = false;
    stopRefreshingKeys();
  };
  const closeResources = () => store.close();
  return {
    server,
    url,
    verifier,
    stopAccepting,
    closeResources,
    async close() {
      stopAccepting();
      await closeServer(server);
      closeResources();
    },
  };
}
