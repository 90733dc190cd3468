import { createHash } from "node:crypto";
import { invalidRequest, parseAmount, parseCurrency, parseIdempotencyKey, parseIdentifier } from "@m2m/service-kit";
import type { ChargeRequest } from "./charge.js";

const FIELDS = new Set(["orderId", "customerId", "amount", "currency"]);

/**
 * The `POST /charge` body of docs/wire-contract.md, checked strictly: a
 * JSON object with exactly `orderId`, `customerId`, `amount` and
 * `currency`, each read by service-kit's parsers, the very ones
 * order-service reads its orders with. Unknown fields are refused rather
 * than ignored: a client that sends `amount_cents` or `capture: false` must
 * learn that it was not understood.
 */
export function parseChargeRequest(body: unknown): ChargeRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("the body must be a JSON object (Content-Type: application/json)");
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !FIELDS.has(name));
  if (unknown.length > 0) throw invalidRequest(`unknown field ${JSON.stringify(unknown[0]?.slice(0, 40))}`);
  return {
    orderId: parseIdentifier("orderId", fields.orderId),
    customerId: parseIdentifier("customerId", fields.customerId),
    amount: parseAmount("amount", fields.amount),
    currency: parseCurrency("currency", fields.currency),
  };
}

/**
 * The `Idempotency-Key` header, bare or quoted as service-kit reads it.
 * Required on `POST /charge`: a charge without one could not be retried
 * safely.
 */
export function requiredIdempotencyKey(header: string | undefined): string {
  const key = parseIdempotencyKey(header);
  if (key === undefined) throw invalidRequest("the Idempotency-Key header is required");
  return key;
}

/**
 * A fingerprint of what was asked, stored with the key: the same key with
 * another request is `422 idempotency_key_reused`. Taken over the parsed
 * fields, so JSON whitespace or field order do not matter.
 */
export function requestFingerprint(request: ChargeRequest): string {
  const canonical = JSON.stringify([request.orderId, request.customerId, request.amount, request.currency]);
  return createHash("sha256").update(canonical).digest("hex");
}
