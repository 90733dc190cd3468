import { describe, expect, it } from "vitest";
import {
  BearerError,
  bearerChallenge,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  UnauthorizedError,
} from "./errors.js";

const realm = { realm: "payment-service" };

describe("RFC 6750 errors, as docs/wire-contract.md writes them", () => {
  it("no credentials: 401 with the bare challenge, no error code in it (RFC 6750 §3.1)", () => {
    const error = new UnauthorizedError(undefined, realm);
    expect(error.status).toBe(401);
    expect(error.headers).toEqual({ "WWW-Authenticate": 'Bearer realm="payment-service"' });
    expect(error.toJSON()).toEqual({ error: "unauthorized", error_description: "this resource needs a Bearer access token" });
  });

  it("invalid_token: 401 with error and error_description", () => {
    const error = new InvalidTokenError("the access token has expired", realm);
    expect(error.status).toBe(401);
    expect(error.headers["WWW-Authenticate"]).toBe(
      'Bearer realm="payment-service", error="invalid_token", error_description="the access token has expired"',
    );
    expect(error.toJSON()).toEqual({ error: "invalid_token", error_description: "the access token has expired" });
  });

  it("insufficient_scope: 403 with the scope needed", () => {
    const error = new InsufficientScopeError("charge:customer", realm);
    expect(error.status).toBe(403);
    expect(error.headers["WWW-Authenticate"]).toBe(
      'Bearer realm="payment-service", error="insufficient_scope", scope="charge:customer"',
    );
    expect(error.toJSON()).toMatchObject({ error: "insufficient_scope", scope: "charge:customer" });
  });

  it("invalid_request: 400", () => {
    const error = new InvalidRequestError("the Authorization header is malformed", realm);
    expect(error.status).toBe(400);
    expect(error.headers["WWW-Authenticate"]).toBe(
      'Bearer realm="payment-service", error="invalid_request", error_description="the Authorization header is malformed"',
    );
  });

  it("temporarily_unavailable: 503 with Retry-After in whole seconds, and no challenge", () => {
    const error = new TemporarilyUnavailableError(2.2, realm);
    expect(error.status).toBe(503);
    expect(error.headers).toEqual({ "Retry-After": "3" });
    expect(error.toJSON()).toEqual({ error: "temporarily_unavailable" });
    expect(new TemporarilyUnavailableError(0).headers).toEqual({ "Retry-After": "1" });
  });

  it("are all exposable BearerErrors, renderable by any handler that honours status, headers and toJSON", () => {
    for (const error of [
      new UnauthorizedError(),
      new InvalidRequestError("x"),
      new InvalidTokenError("x"),
      new InsufficientScopeError("s"),
      new TemporarilyUnavailableError(1),
    ]) {
      expect(error).toBeInstanceOf(BearerError);
      expect(error).toBeInstanceOf(Error);
      expect(error.expose).toBe(true);
      expect(typeof error.status).toBe("number");
    }
  });
});

describe("bearerChallenge", () => {
  it("drops characters that could break out of a quoted-string", () => {
    expect(bearerChallenge("a\"b\\c", [["error_description", 'say "hi"\r\n']])).toBe(
      'Bearer realm="abc", error_description="say hi"',
    );
  });

  it("is just the scheme without realm or params", () => {
    expect(bearerChallenge(undefined, [])).toBe("Bearer");
  });
});
