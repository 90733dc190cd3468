import type { Express } from "express";
import { createBaseApp, finishApp, type Logger } from "@m2m/service-kit";
import type { OrderMetrics } from "./metrics.js";
import { orderRoutes } from "./orders/routes.js";
import type { Settler } from "./orders/settler.js";
import type { OrderBook } from "./orders/order-book.js";

export interface OrderServiceDeps {
  logger: Logger;
  /** Orders and their settle queue: SQLite under `DATA_DIR`, or PostgreSQL. */
  store: OrderBook;
  settler: Settler;
  /** How long `POST /orders` waits for the charge before answering `202 pending`, ms. */
  settleWaitMs: number;
  /** Served on `GET /metrics`; orders created are counted into it. Default: no metrics. */
  metrics?: OrderMetrics;
  /**
   * `/readyz` is 200 while this is true. Default: while the store is open,
   * whether or not auth-server and payment-service are up (orders are kept
   * pending while they are down).
   */
  ready?: () => boolean;
}

/** The order-service HTTP app: no listening, no timers. */
export function createApp(deps: OrderServiceDeps): Express {
  const { metrics } = deps;
  const app = createBaseApp({ logger: deps.logger, ready: deps.ready ?? (() => deps.store.open), metrics: metrics?.registry });
  app.use(
    orderRoutes({
      store: deps.store,
      settler: deps.settler,
      logger: deps.logger,
      settleWaitMs: deps.settleWaitMs,
      ...(metrics ? { onCreated: () => metrics.orderCreated() } : {}),
    }),
  );
  return finishApp(app, deps.logger);
}
