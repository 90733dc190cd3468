import { describe, expect, it } from "vitest";
import { InvalidRequestError, UnauthorizedError } from "./errors.js";
import { authorizationFields, extractBearerToken, type BearerRequest } from "./bearer.js";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln-_~+/==";

function outcome(request: BearerRequest): string {
  try {
    return `token ${extractBearerToken(request)}`;
  } catch (error) {
    if (error instanceof InvalidRequestError) return "400 invalid_request";
    if (error instanceof UnauthorizedError) return "401 bare";
    throw error;
  }
}

describe("extractBearerToken (RFC 6750 §2.1 only)", () => {
  it.each<[string, BearerRequest, string]>([
    ["a Bearer header", { authorization: `Bearer ${TOKEN}` }, `token ${TOKEN}`],
    ["the scheme in lowercase (RFC 7235 §2.1)", { authorization: `bearer ${TOKEN}` }, `token ${TOKEN}`],
    ["the scheme in any case", { authorization: `BEARER ${TOKEN}` }, `token ${TOKEN}`],
    ["several spaces after the scheme (1*SP)", { authorization: `Bearer   ${TOKEN}` }, `token ${TOKEN}`],
    ["one header given as an array", { authorization: [`Bearer ${TOKEN}`] }, `token ${TOKEN}`],
    ["no Authorization header", { authorization: undefined }, "401 bare"],
    ["an empty Authorization header", { authorization: "" }, "401 bare"],
    ["another scheme", { authorization: "Basic b3JkZXI6c2VjcmV0" }, "401 bare"],
    ["a scheme that only starts with Bearer", { authorization: `Bearerx ${TOKEN}` }, "401 bare"],
    ["a token only in the query string (unsupported, RFC 6750 §2.3)", { authorization: undefined, tokenInQuery: true }, "401 bare"],
    ["a token only in a form body (unsupported, RFC 6750 §2.2)", { authorization: undefined, tokenInBody: true }, "401 bare"],
    ["a header and a query token", { authorization: `Bearer ${TOKEN}`, tokenInQuery: true }, "400 invalid_request"],
    ["a header and a body token", { authorization: `Bearer ${TOKEN}`, tokenInBody: true }, "400 invalid_request"],
    ["two Authorization headers", { authorization: [`Bearer ${TOKEN}`, `Bearer ${TOKEN}`] }, "400 invalid_request"],
    ["Bearer without a token", { authorization: "Bearer" }, "400 invalid_request"],
    ["Bearer and only spaces", { authorization: "Bearer    " }, "400 invalid_request"],
    ["two tokens", { authorization: `Bearer ${TOKEN} ${TOKEN}` }, "400 invalid_request"],
    ["a second scheme after the token", { authorization: `Bearer ${TOKEN}, Basic b3JkZXI6c2VjcmV0` }, "400 invalid_request"],
    ["a tab instead of a space", { authorization: `Bearer\t${TOKEN}` }, "400 invalid_request"],
    ["characters outside b64token", { authorization: 'Bearer abc"def' }, "400 invalid_request"],
    ["padding in the middle", { authorization: "Bearer abc=def" }, "400 invalid_request"],
  ])("%s → %s", (_name, request, expected) => {
    expect(outcome(request)).toBe(expected);
  });
});

describe("authorizationFields", () => {
  it("collects every Authorization field of rawHeaders, whatever the case of its name", () => {
    expect(authorizationFields(["Host", "x", "authorization", "Bearer a", "X-Other", "1", "AUTHORIZATION", "Bearer b"])).toEqual(["Bearer a", "Bearer b"]);
    expect(authorizationFields(["Host", "x", "Authorizations", "Bearer a"])).toEqual([]);
  });
});
