// Property-based tests (fast-check) of what POST /token parses from the
// network before anything else: the form body, its Content-Type, and the
// client credentials (Basic header, client_secret_post, client_assertion).
// Properties: no input makes them throw anything but an OAuthError (a 4xx
// with its RFC 6749 §5.2 code), and equivalent inputs get the same answer.
// A failure prints fast-check's seed and path, to replay it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";
import { presentedCredentials } from "./client-auth.js";
import { InvalidRequestError, OAuthError } from "./errors.js";
import { isFormContentType, parseForm } from "./form.js";

// PROPERTY_RUNS_SCALE shrinks every run count (the mutation run sets 0.1: it runs these once per mutant)
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;

/** The answer of a parser, comparable: what it returned, or the class and code of what it threw. */
function answer<T>(parse: () => T): { value: T } | { refused: string } {
  try {
    return { value: parse() };
  } catch (error) {
    expect(error, String(error)).toBeInstanceOf(OAuthError);
    return { refused: `${(error as OAuthError).constructor.name} ${(error as OAuthError).code} ${(error as OAuthError).status}` };
  }
}

/** Form-urlencoding (RFC 6749 Appendix B, the WHATWG form serializer) of one name or value. */
const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
/** The same text with every byte percent-encoded: another spelling of the same form. */
const percentEncodeAll = (value: string) => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");

const formText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.stringMatching(/^[a-z_=&%+0-9A-F.:~-]{0,120}$/),
  fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 20 })), { maxLength: 40 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join("&")),
);
const params = fc.uniqueArray(fc.tuple(fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }), fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 })), {
  selector: ([name]) => name,
  maxLength: 32,
});

describe("parseForm: the application/x-www-form-urlencoded body", () => {
  it("returns parameters or refuses with invalid_request, for any text", () => {
    fc.assert(
      fc.property(formText, (body) => {
        const result = answer(() => parseForm(body));
        if ("refused" in result) expect(result.refused).toBe("InvalidRequestError invalid_request 400");
      }),
      { numRuns: runs(5000) },
    );
  }, PROPERTY_TIMEOUT);

  it("reads back what a form serializer wrote, whatever the order and however each character is escaped", () => {
    fc.assert(
      fc.property(params, fc.boolean(), fc.integer(), (pairs, escapeAll, rotate) => {
        const shift = pairs.length === 0 ? 0 : Math.abs(rotate) % pairs.length;
        const reordered = [...pairs.slice(shift), ...pairs.slice(0, shift)];
        const encode = escapeAll ? percentEncodeAll : formEncode;
        const parsed = parseForm(reordered.map(([name, value]) => `${encode(name)}=${encode(value)}`).join("&"));
        expect(Object.fromEntries(parsed)).toEqual(Object.fromEntries(pairs));
      }),
      { numRuns: runs(3000) },
    );
  }, PROPERTY_TIMEOUT);

  it("refuses any parameter given twice, wherever the second one is", () => {
    fc.assert(
      fc.property(params.filter((pairs) => pairs.length > 0 && pairs.length < 32), fc.nat(), fc.string({ maxLength: 10 }), (pairs, at, value) => {
        const [name] = pairs[at % pairs.length]!;
        const body = [...pairs.map(([n, v]) => `${formEncode(n)}=${formEncode(v)}`), `${formEncode(name)}=${formEncode(value)}`].join("&");
        expect(() => parseForm(body)).toThrow(InvalidRequestError);
      }),
      { numRuns: runs(2000) },
    );
  }, PROPERTY_TIMEOUT);
});

describe("isFormContentType: the Content-Type of /token", () => {
  it("answers any header without throwing, and the same for any case and spacing of the one it takes", () => {
    fc.assert(
      fc.property(fc.option(fc.string({ unit: "binary" }), { nil: undefined }), (header) => {
        expect(typeof isFormContentType(header)).toBe("boolean");
      }),
      { numRuns: runs(3000) },
    );
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }), fc.integer({ min: 0, max: 3 }), fc.constantFrom("", "; charset=utf-8", ";charset=UTF-8", "; charset=\"utf-8\"", "; charset=us-ascii"), (upper, spaces, charset) => {
        const type = [..."application/x-www-form-urlencoded"].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join("");
        expect(isFormContentType(`${" ".repeat(spaces)}${type}${charset}`)).toBe(true);
      }),
      { numRuns: runs(1000) },
    );
  }, PROPERTY_TIMEOUT);
});

const basic = (id: string, secret: string, encode: (s: string) => string = encodeURIComponent) => `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString("base64")}`;
const credentialParams = fc.dictionary(
  fc.constantFrom("client_id", "client_secret", "client_assertion", "client_assertion_type", "grant_type", "scope"),
  fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.constant(JWT_BEARER_ASSERTION_TYPE)),
);
const authorizationHeader = fc.oneof(
  fc.constant(undefined),
  fc.string({ unit: "binary", maxLength: 80 }),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([id, secret]) => basic(id, secret)),
  fc.base64String({ maxLength: 60 }).map((b) => `Basic ${b}`),
  fc.string({ maxLength: 40 }).map((raw) => `Basic ${Buffer.from(raw).toString("base64")}`),
);

describe("presentedCredentials: Basic credentials and the credentials in the body", () => {
  it("finds one method or refuses with an OAuthError, for any header and parameters", () => {
    fc.assert(
      fc.property(authorizationHeader, credentialParams, (authorization, body) => {
        answer(() => presentedCredentials(authorization, new Map(Object.entries(body)), "realm"));
      }),
      { numRuns: runs(5000) },
    );
  }, PROPERTY_TIMEOUT);

  it("reads back any client id and secret, each form-urlencoded or percent-encoded, and the scheme in any case (RFC 6749 §2.3.1)", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }),
        fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }),
        fc.constantFrom(encodeURIComponent, formEncode, percentEncodeAll),
        fc.constantFrom("Basic", "basic", "BASIC", "bAsIc"),
        (id, secret, encode, scheme) => {
          const header = basic(id, secret, encode).replace(/^Basic/, scheme);
          expect(presentedCredentials(header, new Map(), "realm")).toEqual({ method: "client_secret_basic", clientId: id, secret });
          // and the same client as client_secret_post: the same identity, another method
          expect(presentedCredentials(undefined, new Map([["client_id", id], ["client_secret", secret]]), "realm")).toEqual({ method: "client_secret_post", clientId: id, secret });
        },
      ),
      { numRuns: runs(3000) },
    );
  }, PROPERTY_TIMEOUT);
});
