import { setMaxListeners } from "node:events";
import type { Server } from "node:http";
import { join } from "node:path";
import { closeServer, createLogger, createMetricsRegistry, listen, serverUrl, type Logger } from "@m2m/service-kit";
import { generateDPoPKey, importDPoPKey, TokenClient } from "@m2m/token-client";
import { createApp } from "./app.js";
import { logTokenEvents } from "./events.js";
import type { OrderServiceConfig } from "./config.js";
import { OrderMetrics } from "./metrics.js";
import { createPaymentClient } from "./orders/payment-client.js";
import { Settler } from "./orders/settler.js";
import { OrderStore } from "./orders/store.js";
import { SettlementWorker } from "./orders/worker.js";

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
  /** Releases what is left once the server is closed: connections, the database. */
  release(): void;
  /** Everything: background work, the server, then connections and the database. */
  close(): Promise<void>;
}

/**
 * Starts order-service: opens the store, resumes pending orders, listens,
 * and starts the settlement worker. Everything `main` does but signals.
 */
export async function startOrderService(config: OrderServiceConfig, options: StartOptions = {}): Promise<RunningOrderService> {
  const logger = options.logger ?? createLogger({ service: "order-service" });
  const store = new OrderStore(join(config.dataDir, "orders.db"));
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
  const resumed = store.resumeAll(Date.now());
  const app = createApp({ logger, store, settler, metrics, settleWaitMs: config.settleWaitMs, ready: () => store.open && !closing });
  let server: Server;
  try {
    server = await listen(app, config.port, config.host, config.http);
  } catch (error) {
    store.close();
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
  const release = () => {
    payments.close();
    store.close();
  };
  return {
    server,
    url,
    stopBackground,
    release,
    async close() {
      await stopBackground();
      await closeServer(server);
      release();
    },
  };
}
