import { setMaxListeners } from "node:events";
import type { Server } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { closeServer, createLogger, createMetricsRegistry, listen, serverUrl, type Logger } from "@m2m/service-kit";
import { migrate, openPostgres, redactUrl } from "@m2m/store-kit";
import { generateDPoPKey, importDPoPKey, TokenClient } from "@m2m/token-client";
import { createApp } from "./app.js";
import { logTokenEvents } from "./events.js";
import type { OrderServiceConfig } from "./config.js";
import { OrderMetrics } from "./metrics.js";
import { createPaymentClient } from "./orders/payment-client.js";
import type { OrderBook } from "./orders/order-book.js";
import { PostgresOrderBook } from "./orders/postgres-order-book.js";
import { Settler } from "./orders/settler.js";
import { SqliteOrderBook } from "./orders/sqlite-order-book.js";
import { SettlementWorker } from "./orders/worker.js";

/** The SQL migrations of the orders' schema, versioned beside the app. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../migrations", import.meta.url));

export interface StartOptions {
  logger?: Logger;
  /** Time between two looks for due pending orders, ms (default 250). */
  pollIntervalMs?: number;
  /** First backoff ceiling between attempts to settle one order, ms (default 500). */
  retryBaseDelayMs?: number;
}

export interface RunningOrderService {
  server: Server;
  url: string;
  /** Stops the worker and the attempts in flight (their orders stay pending). */
  stopBackground(): Promise<void>;
  /** Releases what is left once the server is closed: connections, the database (and the orders it holds). */
  release(): Promise<void>;
  /** Everything: background work, the server, then connections and the database. */
  close(): Promise<void>;
}

/**
 * Starts order-service: opens the store, resumes pending orders, listens,
 * and starts the settlement worker. Everything `main` does but signals.
 */
export async function startOrderService(config: OrderServiceConfig, options: StartOptions = {}): Promise<RunningOrderService> {
  const logger = options.logger ?? createLogger({ service: "order-service" });
  const store = await openOrderBook(config, logger);
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  const metrics = new OrderMetrics(createMetricsRegistry());

  // one key pair for the life of the process: every token it gets is bound to it
  const dpop = config.dpop === undefined ? undefined : config.dpop.key ? await importDPoPKey(config.dpop.key) : await generateDPoPKey();
  const tokens = new TokenClient({
    issuer: config.issuer,
    authServerUrl: config.authServerUrl,
    clientId: config.clientId,
    clientAuth: config.clientAuth,
    ...(dpop ? { dpop } : {}),
    ...metrics.tokenEvents(logTokenEvents(logger)),
    requestTimeoutMs: 3_000,
    // Short: the worker retries an order later anyway, with its own backoff.
    retry: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1_000, maxElapsedMs: 2_500 },
    // At shutdown, token requests in flight and waits between retries end at once.
    signal: shutdown.signal,
  });
  const payments = createPaymentClient({ baseUrl: config.paymentServiceUrl, tokens, token: config.paymentToken, logger });
  const settler = new Settler({
    store,
    payments,
    logger,
    maxDelayMs: config.retryMaxDelayMs,
    baseDelayMs: options.retryBaseDelayMs,
    onOutcome: (outcome) => metrics.attempted(outcome),
  });
  const worker = new SettlementWorker({ store, settler, logger, pollIntervalMs: options.pollIntervalMs });

  let closing = false;
  const resumed = await store.resumeAll(Date.now());
  const app = createApp({ logger, store, settler, metrics, settleWaitMs: config.settleWaitMs, ready: () => store.open && !closing });
  let server: Server;
  try {
    server = await listen(app, config.port, config.host, config.http);
  } catch (error) {
    await store.close();
    payments.close();
    throw error;
  }
  const url = serverUrl(server);
  worker.start();
  logger.info(
    {
      url,
      client_id: config.clientId,
      auth_method: config.clientAuth.method,
      ...(dpop ? { dpop: { alg: dpop.alg, jkt: dpop.jkt, key: config.dpop?.key ? "configured" : "generated at start" } } : {}),
      pending_resumed: resumed,
    },
    "service.started",
  );

  const stopBackground = async () => {
    closing = true;
    const stopped = worker.stop();
    shutdown.abort();
    await settler.stop();
    await stopped;
  };
  const release = async () => {
    payments.close();
    await store.close();
  };
  return {
    server,
    url,
    stopBackground,
    release,
    async close() {
      await stopBackground();
      await closeServer(server);
      await release();
    },
  };
}

/** The order book the configuration asks for: PostgreSQL with `DATABASE_URL` (migrated first), else SQLite under `DATA_DIR`. */
async function openOrderBook(config: OrderServiceConfig, logger: Logger): Promise<OrderBook> {
  if (config.databaseUrl === undefined) return new SqliteOrderBook(join(config.dataDir, "orders.db"));
  const pool = openPostgres(config.databaseUrl, {
    applicationName: "order-service",
    onError: (error) => logger.warn({ store: "postgres", error: error.message }, "store.connection_lost"),
  });
  try {
    const applied = await migrate(pool, { app: "order-service", dir: MIGRATIONS_DIR });
    const book = new PostgresOrderBook(pool, { leaseMs: config.settleLeaseMs });
    logger.info({ store: "postgres", url: redactUrl(config.databaseUrl), migrations_applied: applied, instance: book.instanceId }, "store.opened");
    return book;
  } catch (error) {
    await pool.end();
    throw error;
  }
}
