import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeServer, createLogger, createMetricsRegistry, listen, serverUrl, type Logger } from "@m2m/service-kit";
import { migrate, openPostgres, redactUrl } from "@m2m/store-kit";
import { createDPoPVerifier, createVerifier, type TokenVerifier } from "@m2m/token-verifier";
import { createApp } from "./app.js";
import type { Ledger } from "./charges/ledger.js";
import { PostgresLedger } from "./charges/postgres-ledger.js";
import { limitProcessor, type CardProcessor } from "./charges/processor.js";
import { openSqliteLedger } from "./charges/sqlite-ledger.js";
import type { PaymentConfig } from "./config.js";
import { keepKeysFresh } from "./key-loader.js";
import { PaymentMetrics } from "./metrics.js";

/** The SQL migrations of the ledger's schema, versioned beside the app. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

/** How often expired idempotency keys are pruned, ms. */
const PRUNE_INTERVAL_MS = 3_600_000;

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
  closeResources(): Promise<void>;
  /** Prunes the idempotency keys older than the retention now (what the hourly timer does); returns how many went. */
  pruneKeys(): Promise<number>;
  /** The whole shutdown: stop, close the server, close the ledger. */
  close(): Promise<void>;
}

/**
 * Everything `main` does but signal handling: opens the ledger (SQLite
 * under `DATA_DIR`, or PostgreSQL, migrated first), listens, loads the
 * issuer's keys in the background, again every `JWKS_MAX_AGE`, and prunes
 * idempotency keys past their retention every hour. Never fails because the
 * auth server is down: `/readyz` says 503 until the keys are in, and again
 * once no fetch has worked for `JWKS_MAX_STALE`.
 */
export async function startPaymentService(config: PaymentConfig, options: StartOptions = {}): Promise<RunningPaymentService> {
  const logger = options.logger ?? createLogger({ service: "payment-service" });
  const ledger = await openLedger(config, logger);
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
    ledger,
    processor: options.processor ?? limitProcessor(config.chargeLimit),
    clock: options.clock,
    metrics,
    accepting: () => accepting,
  });
  let server: Server;
  try {
    server = await listen(app, config.port, config.host, config.http);
  } catch (error) {
    await ledger.close();
    throw error;
  }
  const stopRefreshingKeys = keepKeysFresh(verifier, config.jwksMaxAgeMs);
  const clock = options.clock ?? Date.now;
  const pruneKeys = async () => {
    const pruned = await ledger.pruneKeys(clock() - config.idempotencyKeyRetentionMs);
    if (pruned > 0) logger.info({ pruned, retention_seconds: config.idempotencyKeyRetentionMs / 1000 }, "idempotency_keys.pruned");
    return pruned;
  };
  const pruneSafely = () => pruneKeys().catch((error: unknown) => logger.warn({ error: (error as Error).message }, "idempotency_keys.prune_failed"));
  void pruneSafely();
  const pruneTimer = setInterval(() => void pruneSafely(), PRUNE_INTERVAL_MS);
  pruneTimer.unref();
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
    clearInterval(pruneTimer);
  };
  const closeResources = () => ledger.close();
  return {
    server,
    url,
    verifier,
    stopAccepting,
    closeResources,
    pruneKeys,
    async close() {
      stopAccepting();
      await closeServer(server);
      await closeResources();
    },
  };
}

/** The ledger the configuration asks for: PostgreSQL with `DATABASE_URL`, else SQLite under `DATA_DIR`. */
async function openLedger(config: PaymentConfig, logger: Logger): Promise<Ledger> {
  if (config.databaseUrl === undefined) {
    mkdirSync(config.dataDir, { recursive: true });
    return openSqliteLedger(join(config.dataDir, LEDGER_FILE));
  }
  // one connection per charge in flight (see PostgresLedger): room for a burst
  const pool = openPostgres(config.databaseUrl, {
    applicationName: "payment-service",
    max: 20,
    onError: (error) => logger.warn({ store: "postgres", error: error.message }, "store.connection_lost"),
  });
  try {
    const applied = await migrate(pool, { app: "payment-service", dir: MIGRATIONS_DIR });
    logger.info({ store: "postgres", url: redactUrl(config.databaseUrl), migrations_applied: applied }, "store.opened");
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PostgresLedger(pool);
}
