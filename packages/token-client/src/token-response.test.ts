import { describe, expect, it } from "vitest";
import { AuthServerUnavailableError, InvalidResponseError, TokenRequestError } from "./index.js";
import { readTokenResponse } from "./token-response.js";

// What the client makes of the token endpoint's answer (RFC 6749 §5.1,
// §5.2): a token, a refusal, an outage, or an answer that breaks the
// protocol. Only an outage is retried; only a token is cached.

const NOW = 1_700_000_000_000;
const answer = (status: number, json: unknown, headers: Record<string, unknown> = {}) => ({ status, headers, json });
const read = (status: number, json: unknown) => {
  try {
    return readTokenResponse(answer(status, json), NOW);
  } catch (error) {
    return error;
  }
};

describe("readTokenResponse", () => {
  it("takes the token, its lifetime (digits in a string too) and the granted scope", () => {
    expect(read(200, { access_token: "t", token_type: "Bearer", expires_in: 300, scope: "charge:customer" })).toEqual({
      accessToken: "t",
      expiresIn: 300,
      scope: "charge:customer",
    });
    expect(read(200, { access_token: "t", token_type: "bearer", expires_in: "300" })).toEqual({ accessToken: "t", expiresIn: 300, scope: undefined });
    expect(read(200, { access_token: "t", token_type: "Bearer" })).toEqual({ accessToken: "t", expiresIn: undefined, scope: undefined });
  });

  it("calls a 200 without a token, or with an expires_in that is not a positive number, an invalid response", () => {
    for (const body of [
      "not an object",
      [],
      { token_type: "Bearer", expires_in: 300 },
      { access_token: "", token_type: "Bearer" },
      { access_token: 42, token_type: "Bearer" },
      { access_token: "t", token_type: "Bearer", expires_in: 0 },
      { access_token: "t", token_type: "Bearer", expires_in: -5 },
      { access_token: "t", token_type: "Bearer", expires_in: "5 minutes" },
      { access_token: "t", token_type: "Bearer", expires_in: null },
    ]) {
      expect(read(200, body), JSON.stringify(body)).toBeInstanceOf(InvalidResponseError);
    }
  });

  it("takes an OAuth error as a refusal, but server_error and temporarily_unavailable as an outage", () => {
    const refused = read(400, { error: "invalid_scope", error_description: "no" });
    expect(refused).toBeInstanceOf(TokenRequestError);
    expect(refused).toMatchObject({ code: "invalid_scope", description: "no", status: 400 });
    for (const error of ["server_error", "temporarily_unavailable"]) {
      expect(read(400, { error }), error).toBeInstanceOf(AuthServerUnavailableError);
    }
  });

  it("calls any other answer without an OAuth error an invalid response: neither a refusal nor, but for 5xx, an outage", () => {
    for (const [status, body] of [
      [404, undefined],
      [400, { message: "bad" }],
      [401, { error: "" }],
      [302, undefined],
    ] as const) {
      const error = read(status, body);
      expect(error, `${status}`).toBeInstanceOf(InvalidResponseError);
      expect((error as Error).message).toBe(`token endpoint answered ${status} without an OAuth error`);
    }
    expect(read(503, undefined)).toBeInstanceOf(AuthServerUnavailableError);
  });
});
