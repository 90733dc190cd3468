import { createHash } from "node:crypto";
import { invalidRequest } from "@m2m/service-kit";
import type { ChargeRequest } from "./charge.js";

const FIELDS = new Set(["orderId", "customerId", "amount", "currency"]);
const MAX_ID_LENGTH = 128;
// ISO 4217 codes as the runtime's ICU knows them; the format alone would let "ABC" through
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/**
 * The `POST /charge` body of docs/wire-contract.md, checked strictly: a JSON object
 * with exactly `orderId`, `customerId` (non-empty strings of printable
 * characters, at most 128), `amount` (a positive safe integer, minor units)
 * and `currency` (an ISO 4217 alphabetic code, upper case). Unknown fields
 * are refused rather than ignored: a client that sends `amount_cents` or
 * `capture: false` must learn that it was not understood.
 */
export function parseChargeRequest(body: unknown): ChargeRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw invalidRequest("the body must be a JSON object (Content-Type: application/json)");
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((name) => !FIELDS.has(name));
  if (unknown.length > 0) throw invalidRequest(`unknown field ${JSON.stringify(unknown[0]?.slice(0, 40))}`);
  const { orderId, customerId, amount, currency } = fields;
  checkId("orderId", orderId);
  checkId("customerId", customerId);
  if (typeof amount !== "number" || !Number.isSafeInteger(amount) || amount <= 0) {
    throw invalidRequest("amount must be a positive integer, in minor units");
  }
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency) || !CURRENCIES.has(currency)) {
    throw invalidRequest("currency must be an ISO 4217 code, such as EUR");
  }
  return { orderId, customerId, amount, currency };
}

function checkId(name: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_ID_LENGTH || !/^[\x21-\x7e]+$/.test(value)) {
    throw invalidRequest(`${name} must be a non-empty string of at most ${MAX_ID_LENGTH} printable characters`);
  }
}

/**
 * The `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header).
 * The draft makes it a Structured Field String (`"8e03978e-..."`); most
 * clients send the bare value (`8e03978e-...`). Both are taken, and mean the
 * same key. Required on `POST /charge`: a charge without one could not be
 * retried safely.
 */
export function parseIdempotencyKey(header: string | undefined): string {
  if (header === undefined || header === "") throw invalidRequest("the Idempotency-Key header is required");
  const quoted = /^"([\x20\x21\x23-\x5b\x5d-\x7e]{1,255})"$/.exec(header);
  if (quoted) return quoted[1] as string;
  if (!/^[\x21-\x7e]{1,255}$/.test(header) || header.startsWith('"')) {
    throw invalidRequest("the Idempotency-Key header must be 1 to 255 printable characters");
  }
  return header;
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
