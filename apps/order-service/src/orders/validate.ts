import { invalidRequest, parseAmount, parseCurrency, parseIdentifier } from "@m2m/service-kit";
import type { OrderRequest } from "./order.js";

/**
 * Reads a `POST /orders` body, or throws `400 invalid_request` naming the
 * first bad field. The fields are read by service-kit's parsers, the very
 * ones payment-service reads its charges with: an order accepted here is
 * never refused there as malformed.
 */
export function parseOrderRequest(body: unknown): OrderRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("the body must be a JSON object");
  }
  const { customerId, amount, currency } = body as Record<string, unknown>;
  return {
    customerId: parseIdentifier("customerId", customerId),
    amount: parseAmount("amount", amount),
    currency: parseCurrency("currency", currency),
  };
}
