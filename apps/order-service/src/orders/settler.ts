import { setMaxListeners } from "node:events";
import { describeSpan, inSpan, type Logger, type Span } from "@m2m/service-kit";
import type { Order } from "./order.js";
import type { ChargeOutcome, PaymentClient } from "./payment-client.js";
import type { OrderBook } from "./order-book.js";

export interface SettlerOptions {
  store: OrderBook;
  payments: PaymentClient;
  logger: Logger;
  clock?: () => number;
  random?: () => number;
  /** First backoff ceiling between attempts for one order, ms (default 500). */
  baseDelayMs?: number;
  /** Largest backoff ceiling, ms (default 30,000). */
  maxDelayMs?: number;
  /** Called once an attempt's outcome is recorded: the order settled, or its next attempt scheduled (count them here). */
  onOutcome?: (outcome: ChargeOutcome) => void;
}

/**
 * Settles one order at a time per order: an attempt to charge it, then the
 * outcome recorded (`paid`, `payment_failed`) or the next attempt scheduled
 * with exponential backoff and full jitter. The request that created an
 * order and the background worker both come through here, and a second
 * caller for an order already being settled joins the attempt in flight, so
 * one order is never charged by two attempts at once.
 */
export class Settler {
  readonly #inflight = new Map<string, Promise<Order | undefined>>();
  readonly #abort = new AbortController();
  readonly #options: Required<Omit<SettlerOptions, "store" | "payments" | "logger" | "onOutcome">> & SettlerOptions;

  constructor(options: SettlerOptions) {
    // `??`, not a spread over the defaults: an option given as `undefined` takes its default
    this.#options = {
      ...options,
      clock: options.clock ?? Date.now,
      random: options.random ?? Math.random,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
    };
    // every attempt in flight listens to this one signal
    setMaxListeners(0, this.#abort.signal);
  }

  /** Attempts to settle `id` now, or joins the attempt in flight. Resolves with the order as it then is. */
  settle(id: string): Promise<Order | undefined> {
    const running = this.#inflight.get(id);
    if (running) return running;
    if (this.#abort.signal.aborted) return this.#options.store.get(id);
    // one span per attempt: the order, its token, its charge (the worker's attempts start their own trace)
    const attempt = inSpan("Settler.settle", (span) => this.#attempt(id, span)).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, attempt);
    return attempt;
  }

  /** The attempt in flight for `id`, if any. */
  inflight(id: string): Promise<Order | undefined> | undefined {
    return this.#inflight.get(id);
  }

  isSettling(id: string): boolean {
    return this.#inflight.has(id);
  }

  /** The orders with an attempt in flight now, the worker's and the requests' alike. */
  settling(): string[] {
    return [...this.#inflight.keys()];
  }

  /** Aborts the attempts in flight (their orders stay pending) and waits for them to end. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled([...this.#inflight.values()]);
  }

  async #attempt(id: string, span: Span): Promise<Order | undefined> {
    const { store, payments, logger, clock } = this.#options;
    const order = await store.get(id);
    if (!order || order.status !== "pending") return order;
    describeSpan(span, () => ({
      "order.id": order.id,
      "order.attempt": order.attempts + 1,
      "order.amount": order.amount,
      "order.currency": order.currency,
    }));

    let outcome: ChargeOutcome;
    try {
      outcome = await abortable(payments.charge(order, this.#abort.signal), this.#abort.signal);
    } catch (error) {
      if (this.#abort.signal.aborted) return store.open ? await store.get(id) : order; // shutting down: stays pending, resumed at restart
      logger.error({ err: error, order_id: id }, "order.attempt_failed");
      outcome = { kind: "retry", reason: "internal_error" };
    }

    describeSpan(span, () => ({ "order.outcome": outcome.kind, ...("reason" in outcome ? { "order.reason": outcome.reason } : {}) }));
    const now = clock();
    if (outcome.kind === "retry") {
      const delay = this.#delay(order.attempts, outcome.retryAfterSeconds);
      await store.reschedule(id, now + delay, outcome.reason, now);
      logger.warn({ order_id: id, attempt: order.attempts + 1, reason: outcome.reason, retry_in_ms: delay }, "order.retry_scheduled");
      this.#options.onOutcome?.(outcome);
    } else {
      const settled =
        outcome.kind === "paid"
          ? { status: "paid" as const, chargeId: outcome.chargeId }
          : { status: "payment_failed" as const, reason: outcome.reason };
      if (await store.settle(id, settled, now)) {
        logger.info(
          { order_id: id, status: settled.status, ...(outcome.kind === "paid" ? { charge_id: outcome.chargeId } : { reason: outcome.reason }) },
          "order.settled",
        );
        this.#options.onOutcome?.(outcome);
      }
    }
    return store.get(id);
  }

  #delay(attempts: number, retryAfterSeconds: number | undefined): number {
    const { baseDelayMs, maxDelayMs, random } = this.#options;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(attempts, 30));
    // Full jitter, but never sooner than a tenth of the base: no hot loop against a dead service.
    const jittered = Math.max(Math.floor(random() * ceiling), Math.floor(baseDelayMs / 10));
    return Math.max(jittered, (retryAfterSeconds ?? 0) * 1000);
  }
}

/** Settles with `promise`, or rejects as soon as `signal` aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
