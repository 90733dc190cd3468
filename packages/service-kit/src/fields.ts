import { invalidRequest } from "./errors.js";

// The fields a charge is made of, read the same way at both of its edges:
// order-service's `POST /orders` and payment-service's `POST /charge`. With
// one definition, nothing order-service accepts can be refused later by
// payment-service, when the order could only end `payment_failed`.
// Each parser returns the value, typed, or throws `400 invalid_request`
// naming the field.

const MAX_IDENTIFIER_LENGTH = 128;

/**
 * Visible ASCII (`!` to `~`): no spaces, which ids never need and which
 * survive logs, URLs and copy-paste badly; no control or non-ASCII
 * characters, which would reach the ledgers and the logs as they are.
 */
const IDENTIFIER = new RegExp(`^[\\x21-\\x7e]{1,${MAX_IDENTIFIER_LENGTH}}$`);

/** An id such as `orderId` or `customerId`: 1 to 128 visible ASCII characters, no spaces. */
export function parseIdentifier(name: string, value: unknown): string {
  if (typeof value !== "string" || !IDENTIFIER.test(value)) {
    throw invalidRequest(`${name} must be 1 to ${MAX_IDENTIFIER_LENGTH} visible ASCII characters, without spaces`);
  }
  return value;
}

/**
 * An amount in minor units (cents): a positive integer, and a safe one, so
 * that it is the same number in JSON, in JavaScript and in SQLite.
 */
export function parseAmount(name: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidRequest(`${name} must be a positive integer, in minor units`);
  }
  return value;
}

// ISO 4217 codes as the runtime's ICU knows them; the format alone would let "ABC" through
const CURRENCIES = new Set(Intl.supportedValuesOf("currency"));

/** An ISO 4217 alphabetic currency code, upper case (`EUR`). */
export function parseCurrency(name: string, value: unknown): string {
  if (typeof value !== "string" || !/^[A-Z]{3}$/.test(value) || !CURRENCIES.has(value)) {
    throw invalidRequest(`${name} must be an ISO 4217 code, such as EUR`);
  }
  return value;
}

const MAX_KEY_LENGTH = 255;
/** The bare form: visible ASCII. (One starting with `"` is a quoted form gone wrong, and refused.) */
const BARE_KEY = new RegExp(`^[\\x21-\\x7e]{1,${MAX_KEY_LENGTH}}$`);
/** The quoted form, an RFC 8941 §3.3.3 String: visible ASCII and spaces, with `"` and `\` escaped by `\`. */
const QUOTED_KEY = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * The `Idempotency-Key` header (draft-ietf-httpapi-idempotency-key-header),
 * or `undefined` when it is absent: whether it is required is the
 * endpoint's call. The draft makes the key a Structured Field String
 * (`"8e03978e-..."`); most clients send the bare value (`8e03978e-...`).
 * Both are taken and mean the same key; either way it is 1 to 255
 * characters.
 */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const quoted = QUOTED_KEY.exec(header);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, "$1") : header;
  const valid = quoted ? key.length >= 1 && key.length <= MAX_KEY_LENGTH : BARE_KEY.test(key) && !key.startsWith('"');
  if (!valid) {
    throw invalidRequest(`the Idempotency-Key header must be 1 to ${MAX_KEY_LENGTH} visible ASCII characters, bare or as a quoted string`);
  }
  return key;
}
