import { describe, expect, it } from "vitest";
import { HttpError } from "./errors.js";
import { parseAmount, parseCurrency, parseIdempotencyKey, parseIdentifier } from "./fields.js";

/** The `400 invalid_request` a bad field becomes, with its description. */
function refusal(parse: () => unknown): { status: number; code: string; description?: string } | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    return { status: error.status, code: error.code, description: error.description };
  }
}

describe("parseIdentifier", () => {
  it("takes 1 to 128 visible ASCII characters", () => {
    for (const id of ["c", "cus_42", "ord_8e03978e-40d5-43e8-bc93-6894a57f9324", "x".repeat(128), "'OR'1'='1'--", "../../etc/passwd"]) {
      expect(parseIdentifier("customerId", id)).toBe(id);
    }
  });

  it('hardening #12: refuses "a b" and every other id with a space, which payment-service always refused', () => {
    for (const id of ["a b", " cus_1", "cus_1 ", " "]) {
      expect(refusal(() => parseIdentifier("customerId", id)), JSON.stringify(id)).toEqual({
        status: 400,
        code: "invalid_request",
        description: "customerId must be 1 to 128 visible ASCII characters, without spaces",
      });
    }
  });

  it("refuses the empty, the too long, control characters, non-ASCII and non-strings, naming the field", () => {
    for (const id of ["", "x".repeat(129), "ord\n1", "ord\t1", "\u0000", "café", "😀", 42, null, undefined, ["a"]]) {
      expect(refusal(() => parseIdentifier("orderId", id))?.description, JSON.stringify(id)).toMatch(/^orderId must be /);
    }
  });
});

describe("parseAmount", () => {
  it("takes a positive safe integer, in minor units", () => {
    for (const amount of [1, 1299, Number.MAX_SAFE_INTEGER]) expect(parseAmount("amount", amount)).toBe(amount);
  });

  it("refuses zero, negatives, fractions, unsafe integers and strings", () => {
    for (const amount of [0, -1, 12.5, 2 ** 53, Infinity, NaN, "1299", null]) {
      expect(refusal(() => parseAmount("amount", amount)), String(amount)).toEqual({
        status: 400,
        code: "invalid_request",
        description: "amount must be a positive integer, in minor units",
      });
    }
  });
});

describe("parseCurrency", () => {
  it("takes ISO 4217 codes, upper case", () => {
    for (const currency of ["EUR", "USD", "JPY", "CHF"]) expect(parseCurrency("currency", currency)).toBe(currency);
  });

  it("refuses lower case, words, and three letters that are no currency", () => {
    for (const currency of ["eur", "Eur", "euro", "EU", "ABC", " EUR", 978, null]) {
      expect(refusal(() => parseCurrency("currency", currency))?.description, String(currency)).toBe("currency must be an ISO 4217 code, such as EUR");
    }
  });
});

describe("parseIdempotencyKey", () => {
  it("is undefined when the header is absent (whether that is allowed is the endpoint's call)", () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
  });

  it("takes a bare key of 1 to 255 visible ASCII characters", () => {
    for (const key of ["k", "8e03978e-40d5-43e8-bc93-6894a57f9324", "k".repeat(255), 'a"b', "a\\b"]) expect(parseIdempotencyKey(key)).toBe(key);
  });

  it("takes the draft's quoted form (an RFC 8941 string) as the same key, escapes undone", () => {
    expect(parseIdempotencyKey('"8e03978e"')).toBe("8e03978e");
    expect(parseIdempotencyKey('"a b"')).toBe("a b");
    expect(parseIdempotencyKey('"a\\"b"')).toBe('a"b');
    expect(parseIdempotencyKey('"a\\\\b"')).toBe("a\\b");
    expect(parseIdempotencyKey(`"${"k".repeat(255)}"`)).toBe("k".repeat(255));
  });

  it("hardening #12: refuses what is neither form, which order-service took as keys and payment-service refused", () => {
    // order-service took '"a"b"' as a"b, '"a\b"' as a\b and '"unterminated' as it stood
    for (const key of ['"a"b"', '"a\\b"', '"unterminated', '""', ""]) {
      expect(refusal(() => parseIdempotencyKey(key)), key).toEqual({
        status: 400,
        code: "invalid_request",
        description: "the Idempotency-Key header must be 1 to 255 visible ASCII characters, bare or as a quoted string",
      });
    }
  });

  it("refuses spaces in a bare key, control characters, non-ASCII and more than 255 characters", () => {
    for (const key of ["two words", "k\tk", "clé", "k".repeat(256), `"${"k".repeat(256)}"`]) {
      expect(refusal(() => parseIdempotencyKey(key))?.status, key).toBe(400);
    }
  });
});
