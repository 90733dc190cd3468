import type { Registry } from "@m2m/service-kit";
import { TokenClientError, type TokenClientOptions } from "@m2m/token-client";
import { Counter } from "prom-client";
import type { ChargeOutcome } from "./orders/payment-client.js";

type TokenListeners = Pick<TokenClientOptions, "onLookup" | "onFetched" | "onReused" | "onRefreshFailed" | "onRetry">;

/**
 * Why an attempt to charge an order is tried again, as a label. The reasons
 * order-service gives itself are a fixed set; one read from
 * payment-service's answer (its `error` code) is kept only when it is one of
 * the contract's, so another server's answer cannot add series.
 */
const RETRY_REASONS = new Set([
  "auth_server_unavailable",
  "auth_server_invalid_answer",
  "payment_service_unreachable",
  "payment_service_timeout",
  "payment_unexpected_answer",
  "internal_error",
  "temporarily_unavailable",
  "idempotency_key_in_use",
  "invalid_token",
  "server_error",
]);

/**
 * order-service's metrics, each counted from the events that also make its
 * log lines: the token client's cache, orders created and settled, the
 * attempts retried. No label holds an order id or a client id.
 */
export class OrderMetrics {
  private readonly lookups: Counter<"outcome">;
  private readonly fetched: Counter;
  private readonly tokenRetries: Counter;
  private readonly refreshFailures: Counter<"error">;
  private readonly ordersCreated: Counter;
  private readonly ordersSettled: Counter<"status">;
  private readonly attemptsRetried: Counter<"reason">;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.lookups = new Counter({
      name: "oauth_client_token_cache_lookups_total",
      help: "Access tokens asked of the token client, by how its cache answered: hit, refresh (a hit that started a refresh ahead), wait (joined a request in flight) or miss",
      labelNames: ["outcome"],
      registers,
    });
    this.fetched = new Counter({ name: "oauth_client_tokens_fetched_total", help: "Access tokens obtained from the token endpoint", registers });
    this.tokenRetries = new Counter({ name: "oauth_client_token_request_retries_total", help: "Token requests tried again after a transient failure", registers });
    this.refreshFailures = new Counter({
      name: "oauth_client_token_refresh_failures_total",
      help: "Background refreshes that failed (the cached token was still used), by error code",
      labelNames: ["error"],
      registers,
    });
    this.ordersCreated = new Counter({ name: "orders_created_total", help: "Orders stored (a replayed Idempotency-Key is not a new order)", registers });
    this.ordersSettled = new Counter({
      name: "orders_settled_total",
      help: "Orders that reached their final state: paid or payment_failed",
      labelNames: ["status"],
      registers,
    });
    this.attemptsRetried = new Counter({
      name: "order_charge_retries_total",
      help: "Attempts to charge an order that left it pending, to be tried again, by reason",
      labelNames: ["reason"],
      registers,
    });
  }

  /** The token client's listeners: count, then `next` (the log lines). */
  tokenEvents(next: TokenListeners): TokenListeners {
    return {
      ...next,
      onLookup: (event) => {
        this.lookups.inc({ outcome: event.outcome });
        next.onLookup?.(event);
      },
      onFetched: (event) => {
        this.fetched.inc();
        next.onFetched?.(event);
      },
      onRetry: (event) => {
        this.tokenRetries.inc();
        next.onRetry?.(event);
      },
      onRefreshFailed: (event) => {
        this.refreshFailures.inc({ error: event.error instanceof TokenClientError ? event.error.code : "unknown" });
        next.onRefreshFailed?.(event);
      },
    };
  }

  orderCreated(): void {
    this.ordersCreated.inc();
  }

  /** What one attempt to charge an order came to. */
  attempted(outcome: ChargeOutcome): void {
    if (outcome.kind === "retry") this.attemptsRetried.inc({ reason: RETRY_REASONS.has(outcome.reason) ? outcome.reason : "other" });
    else this.ordersSettled.inc({ status: outcome.kind === "paid" ? "paid" : "payment_failed" });
  }
}
