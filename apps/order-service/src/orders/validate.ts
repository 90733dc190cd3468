import { invalidRequest } from "@m2m/service-kit";
import type { OrderRequest } from "./order.js";

const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/** Reads a `POST /orders` body, or throws `400 invalid_request` naming the first bad field. */
export function parseOrderRequest(body: unknown): OrderRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("the body must be a JSON object");
  }
  const { customerId, amount, currency } = body as Record<string, unknown>;
  if (typeof customerId !== "string" || !/^[\x20-\x7e]{1,128}$/.test(customerId) || customerId.trim() === "") {
    throw invalidRequest("customerId must be a string of 1 to 128 printable ASCII characters");
  }
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount <= 0) {
    throw invalidRequest("amount must be a positive integer in minor units");
  }
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency) || !CURRENCIES.has(currency)) {
    throw invalidRequest("currency must be an ISO 4217 code such as EUR");
  }
  return { customerId, amount, currency };
}

/**
 * The optional `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header):
 * a string of visible ASCII, bare or as a quoted structured-field string.
 */
export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = /^"(.*)"$/.test(value) ? value.slice(1, -1) : value;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw invalidRequest("Idempotency-Key must be 1 to 255 visible ASCII characters");
  }
  return key;
}
