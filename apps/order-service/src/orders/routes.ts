import { Router, type Response } from "express";
import { HttpError, jsonBody, parseIdempotencyKey, type Logger } from "@m2m/service-kit";
import type { Order } from "./order.js";
import type { Settler } from "./settler.js";
import type { OrderBook } from "./order-book.js";
import { parseOrderRequest } from "./validate.js";

export interface OrderRoutesDeps {
  store: OrderBook;
  settler: Settler;
  logger: Logger;
  /** How long `POST /orders` waits for the charge before answering `202`, ms. */
  settleWaitMs: number;
  /** Called for every order stored (not for a replay). */
  onCreated?: (order: Order) => void;
}

/**
 * `POST /orders` and `GET /orders/:id` (docs/wire-contract.md, "order-service"). The
 * order is committed as `pending` before any call leaves the service; the
 * request then waits a bounded time for its charge and answers what it knows.
 */
export function orderRoutes(deps: OrderRoutesDeps): Router {
  const { store, settler, logger, settleWaitMs } = deps;
  const router = Router();

  router.post("/orders", jsonBody(), async (req, res) => {
    const request = parseOrderRequest(req.body);
    const key = parseIdempotencyKey(req.get("idempotency-key"));
    const result = await store.create(request, key, Date.now());
    if (result.kind === "conflict") {
      throw new HttpError(422, "idempotency_key_reused", "this Idempotency-Key was used with another request body");
    }
    const { order } = result;
    if (result.kind === "created") {
      logger.info({ order_id: order.id, amount: order.amount, currency: order.currency }, "order.created");
      deps.onCreated?.(order);
    }
    // A replay waits on the attempt in flight, if any, but never starts one:
    // a client retrying its POST must not bypass the backoff.
    const attempt = result.kind === "created" ? settler.settle(order.id) : settler.inflight(order.id);
    const current = (attempt ? await within(attempt, settleWaitMs) : undefined) ?? (await store.get(order.id)) ?? order;
    if (result.kind === "replayed") res.set("Idempotent-Replayed", "true");
    send(res, current);
  });

  router.get("/orders/:id", async (req, res) => {
    const order = await store.get(req.params.id);
    if (!order) throw new HttpError(404, "not_found", "no such order");
    res.json(publicOrder(order));
  });

  return router;
}

/** `201` once the order is settled either way, `202` while it is pending. */
function send(res: Response, order: Order): void {
  res.status(order.status === "pending" ? 202 : 201).location(`/orders/${order.id}`).json(publicOrder(order));
}

function publicOrder(order: Order): Order {
  const { id, status, customerId, amount, currency, chargeId, reason, createdAt, updatedAt } = order;
  return {
    id,
    status,
    customerId,
    amount,
    currency,
    ...(chargeId === undefined ? {} : { chargeId }),
    ...(reason === undefined ? {} : { reason }),
    createdAt,
    updatedAt,
  };
}

/** The value of `promise` if it settles within `ms`, else `undefined` (the work goes on). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, ms, undefined)));
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
