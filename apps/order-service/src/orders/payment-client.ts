import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import axios, { isAxiosError, type AxiosInstance, type InternalAxiosRequestConfig } from "axios";
import { endClientSpan, fingerprint, startClientSpan, type Logger, type Span } from "@m2m/service-kit";
import {
  AuthServerUnavailableError,
  InvalidResponseError,
  TokenRequestError,
  withBearerToken,
  type TokenParams,
  type TokenSource,
} from "@m2m/token-client";
import { deadline } from "./deadline.js";
import type { Order } from "./order.js";

/** What one attempt to charge an order came to. */
export type ChargeOutcome =
  | { kind: "paid"; chargeId: string }
  /** Certain not to have charged, and certain to fail again: the order is settled as failed. */
  | { kind: "failed"; reason: string }
  /** Unknown or temporary: the order stays pending and is tried again. */
  | { kind: "retry"; reason: string; retryAfterSeconds?: number };

export interface PaymentClient {
  /**
   * One attempt to charge `order`. Rejects only with `signal`'s reason once
   * it aborts (the attempt was abandoned, its outcome unknown), or on a bug.
   */
  charge(order: Order, signal?: AbortSignal): Promise<ChargeOutcome>;
  close(): void;
}

export interface PaymentClientOptions {
  baseUrl: string;
  tokens: TokenSource;
  token: TokenParams;
  logger: Logger;
  /**
   * Total time one `charge()` may take, milliseconds (default 10,000): the
   * token, connecting, sending, the status, headers and entire answer, and
   * the one retry after `invalid_token`. Not axios's `timeout`, an idle
   * timeout in Node, which a server sending a byte now and then never trips.
   */
  chargeTimeoutMs?: number;
}

/** payment-service answers that settle an order as failed: the charge was refused, not lost. */
const REFUSED = new Set([400, 402, 403, 422]);

/**
 * Charges orders at payment-service `POST /charge`, always with the order id
 * as `Idempotency-Key`: a retry after a lost answer finds the first charge
 * instead of making a second one. A charge that takes longer than
 * `chargeTimeoutMs` is abandoned and the order retried later, so a slow or
 * trickling payment-service cannot hold an attempt (and its order) forever.
 */
export function createPaymentClient(options: PaymentClientOptions): PaymentClient {
  const httpAgent = new Agent({ keepAlive: true });
  const httpsAgent = new HttpsAgent({ keepAlive: true });
  const chargeTimeoutMs = options.chargeTimeoutMs ?? 10_000;
  const http = axios.create({
    baseURL: options.baseUrl,
    maxRedirects: 0,
    httpAgent,
    httpsAgent,
    headers: { accept: "application/json" },
  });
  // Request interceptors run last-added first: this one, added before the
  // token interceptor, sees the request with its token (and proof).
  http.interceptors.request.use((config) => {
    const [scheme = "", token = ""] = String(config.headers.get("Authorization") ?? "").split(" ", 2);
    options.logger.info(
      { order_id: config.headers.get("Idempotency-Key"), url: http.getUri(config), scheme, token: fingerprint(token), ...(config.headers.has("DPoP") ? { dpop_proof: true } : {}) },
      "charge.requested",
    );
    return config;
  });
  traceCharges(http);
  withBearerToken(http, options.tokens, options.token);

  return {
    async charge(order, signal) {
      const body = { orderId: order.id, customerId: order.customerId, amount: order.amount, currency: order.currency };
      // One signal for the whole charge, the retry after invalid_token included: the caller's, cut off at the deadline.
      const limit = deadline(chargeTimeoutMs, signal);
      try {
        const res = await http.post<{ id?: unknown }>("/charge", body, { headers: { "Idempotency-Key": order.id }, signal: limit.signal });
        return typeof res.data?.id === "string" ? { kind: "paid", chargeId: res.data.id } : { kind: "retry", reason: "payment_unexpected_answer" };
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        return classify(error, limit.expired);
      } finally {
        limit.dispose();
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/** Kept on the request config, from the request interceptor to the response one. */
interface Traced extends InternalAxiosRequestConfig {
  span?: Span;
}

/**
 * Each request to payment-service as a client span (`POST /charge`), whose
 * W3C `traceparent` goes with it, so the charge's spans there join the
 * order's trace. Added before the Bearer interceptor, so it runs after it
 * (request interceptors run last-added first): the span starts once the
 * token is in hand, and a retry after `invalid_token` is a second span.
 */
function traceCharges(http: AxiosInstance): void {
  http.interceptors.request.use((config: Traced) => {
    config.span = startClientSpan((config.method ?? "get").toUpperCase(), http.getUri(config), (name, value) => config.headers.set(name, value));
    return config;
  });
  http.interceptors.response.use(
    (res) => {
      const { span } = res.config as Traced;
      if (span) endClientSpan(span, { status: res.status });
      return res;
    },
    (error: unknown) => {
      const span = isAxiosError(error) ? (error.config as Traced | undefined)?.span : undefined;
      if (span && isAxiosError(error)) endClientSpan(span, error.response ? { status: error.response.status } : { errorType: error.code ?? "ERR_NETWORK" });
      throw error;
    },
  );
}

function classify(error: unknown, timedOut: boolean): ChargeOutcome {
  // The authorization server refused order-service: no charge was sent, and none would be.
  if (error instanceof TokenRequestError) return { kind: "failed", reason: error.code };
  if (error instanceof AuthServerUnavailableError) {
    return { kind: "retry", reason: "auth_server_unavailable", ...retryAfter(error.details.retryAfterSeconds) };
  }
  if (error instanceof InvalidResponseError) return { kind: "retry", reason: "auth_server_invalid_answer" };
  if (!isAxiosError(error)) throw error; // a bug, not an answer: the settler logs it and retries
  if (!error.response) {
    // Unreachable, too slow, reset: the charge may or may not have happened;
    // the retry with the same Idempotency-Key finds out.
    return { kind: "retry", reason: timedOut ? "payment_service_timeout" : "payment_service_unreachable" };
  }
  const { status, data, headers } = error.response;
  const code = typeof (data as { error?: unknown } | undefined)?.error === "string" ? (data as { error: string }).error : undefined;
  if (REFUSED.has(status)) return { kind: "failed", reason: code ?? `payment_refused_${status}` };
  // 409 idempotency_key_in_use: the first attempt is still being processed.
  // 401 after the one token refresh: a credential problem, never the order's
  // fault; it stays pending until the credentials work again.
  const seconds = Number(headers["retry-after"]);
  return {
    kind: "retry",
    reason: code ?? `payment_service_${status}`,
    ...retryAfter(Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined),
  };
}

function retryAfter(seconds: number | undefined): { retryAfterSeconds?: number } {
  return seconds === undefined ? {} : { retryAfterSeconds: seconds };
}
