import { Agent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import axios, { isAxiosError } from "axios";
import { fingerprint, type Logger } from "@m2m/service-kit";
import {
  AuthServerUnavailableError,
  InvalidResponseError,
  TokenRequestError,
  withBearerToken,
  type TokenParams,
  type TokenSource,
} from "@m2m/token-client";
import type { Order } from "./order.js";

/** What one attempt to charge an order came to. */
export type ChargeOutcome =
  | { kind: "paid"; chargeId: string }
  /** Certain not to have charged, and certain to fail again: the order is settled as failed. */
  | { kind: "failed"; reason: string }
  /** Unknown or temporary: the order stays pending and is tried again. */
  | { kind: "retry"; reason: string; retryAfterSeconds?: number };

export interface PaymentClient {
  charge(order: Order, signal?: AbortSignal): Promise<ChargeOutcome>;
  close(): void;
}

export interface PaymentClientOptions {
  baseUrl: string;
  tokens: TokenSource;
  token: TokenParams;
  logger: Logger;
}

/** payment-service answers that settle an order as failed: the charge was refused, not lost. */
const REFUSED = new Set([400, 402, 403, 422]);

/**
 * Charges orders at payment-service `POST /charge`, always with the order id
 * as `Idempotency-Key`: a retry after a lost answer finds the first charge
 * instead of making a second one.
 */
export function createPaymentClient(options: PaymentClientOptions): PaymentClient {
  const httpAgent = new Agent({ keepAlive: true });
  const httpsAgent = new HttpsAgent({ keepAlive: true });
  const http = axios.create({
    baseURL: options.baseUrl,
    timeout: 10_000,
    maxRedirects: 0,
    httpAgent,
    httpsAgent,
    headers: { accept: "application/json" },
  });
  // Request interceptors run last-added first: this one, added before the
  // Bearer interceptor, sees the request with its token.
  http.interceptors.request.use((config) => {
    const authorization = String(config.headers.get("Authorization") ?? "");
    options.logger.info(
      { order_id: config.headers.get("Idempotency-Key"), url: http.getUri(config), token: fingerprint(authorization.replace(/^Bearer /, "")) },
      "charge.requested",
    );
    return config;
  });
  withBearerToken(http, options.tokens, options.token);

  return {
    async charge(order, signal) {
      const body = { orderId: order.id, customerId: order.customerId, amount: order.amount, currency: order.currency };
      try {
        const res = await http.post<{ id?: unknown }>("/charge", body, {
          headers: { "Idempotency-Key": order.id },
          ...(signal ? { signal } : {}),
        });
        return typeof res.data?.id === "string" ? { kind: "paid", chargeId: res.data.id } : { kind: "retry", reason: "payment_unexpected_answer" };
      } catch (error) {
        return classify(error);
      }
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function classify(error: unknown): ChargeOutcome {
  // The authorization server refused order-service: no charge was sent, and none would be.
  if (error instanceof TokenRequestError) return { kind: "failed", reason: error.code };
  if (error instanceof AuthServerUnavailableError) {
    return { kind: "retry", reason: "auth_server_unavailable", ...retryAfter(error.details.retryAfterSeconds) };
  }
  if (error instanceof InvalidResponseError) return { kind: "retry", reason: "auth_server_invalid_answer" };
  if (!isAxiosError(error)) throw error; // a bug, not an answer: the settler logs it and retries
  if (!error.response) {
    // Unreachable, timed out, reset: the charge may or may not have happened;
    // the retry with the same Idempotency-Key finds out.
    return { kind: "retry", reason: "payment_service_unreachable" };
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
