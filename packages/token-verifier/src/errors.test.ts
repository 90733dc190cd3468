import { describe, expect, it } from "vitest";
import {
  BearerError,
  bearerChallenge,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidDPoPProofError,
  InvalidTokenError,
  TemporarilyUnavailableError,
  UnauthorizedError,
  UseDPoPNonceError,
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

describe("RFC 9449 §7.1 errors, and the DPoP challenge", () => {
  const dpop = { realm: "payment-service", dpopAlgs: ["ES256", "EdDSA"] };

  it("invalid_dpop_proof: 401, one description whatever failed, the failed check in reason only", () => {
    const error = new InvalidDPoPProofError("ath is not the hash of the access token", dpop);
    expect([error.status, error.code, error.name, error.reason]).toEqual([401, "invalid_dpop_proof", "InvalidDPoPProofError", "ath is not the hash of the access token"]);
    expect(error.headers).toEqual({
      "WWW-Authenticate": 'DPoP realm="payment-service", error="invalid_dpop_proof", error_description="the DPoP proof is not valid for this request", algs="ES256 EdDSA"',
    });
    expect(error.toJSON()).toEqual({ error: "invalid_dpop_proof", error_description: "the DPoP proof is not valid for this request" });
    expect(JSON.stringify(error.toJSON()) + JSON.stringify(error.headers)).not.toContain("ath");
    expect(error.expose).toBe(true);
  });

  it("use_dpop_nonce: 401 with the nonce to use in DPoP-Nonce, beside the challenge", () => {
    const error = new UseDPoPNonceError("eyJ7S_zG.eyJH0-Z.HX4w-7v", dpop);
    expect([error.status, error.code, error.nonce]).toEqual([401, "use_dpop_nonce", "eyJ7S_zG.eyJH0-Z.HX4w-7v"]);
    expect(error.headers).toEqual({
      "WWW-Authenticate": 'DPoP realm="payment-service", error="use_dpop_nonce", error_description="the resource server requires a nonce in the DPoP proof", algs="ES256 EdDSA"',
      "DPoP-Nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v",
    });
    expect(error.toJSON()).toEqual({ error: "use_dpop_nonce", error_description: "the resource server requires a nonce in the DPoP proof" });
    expect(new UseDPoPNonceError("n").headers).toEqual({
      "WWW-Authenticate": 'Bearer error="use_dpop_nonce", error_description="the resource server requires a nonce in the DPoP proof"',
      "DPoP-Nonce": "n",
    });
  });

  it("no credentials where DPoP is taken: the bare DPoP challenge with algs, and a description of one's own", () => {
    const error = new UnauthorizedError("this resource needs a DPoP-bound access token and a DPoP proof", dpop);
    expect(error.headers).toEqual({ "WWW-Authenticate": 'DPoP realm="payment-service", algs="ES256 EdDSA"' });
    expect(error.toJSON()).toEqual({ error: "unauthorized", error_description: "this resource needs a DPoP-bound access token and a DPoP proof" });
    expect(new UnauthorizedError(undefined, { dpopAlgs: ["PS256"] }).headers).toEqual({ "WWW-Authenticate": 'DPoP algs="PS256"' });
    expect(new UnauthorizedError().headers).toEqual({ "WWW-Authenticate": "Bearer" });
    expect(new UnauthorizedError().realm).toBeUndefined();
  });

  it("temporarily_unavailable: a description of one's own, Retry-After never under 1 and rounded up", () => {
    const error = new TemporarilyUnavailableError(0.2, { description: "too many DPoP proofs to remember right now" });
    expect(error.description).toBe("too many DPoP proofs to remember right now");
    expect(error.headers).toEqual({ "Retry-After": "1" });
    expect(error.toJSON()).toEqual({ error: "temporarily_unavailable" });
    expect(new TemporarilyUnavailableError(-5).headers).toEqual({ "Retry-After": "1" });
    expect(new TemporarilyUnavailableError(1).headers).toEqual({ "Retry-After": "1" });
    expect(new TemporarilyUnavailableError(1.01).headers).toEqual({ "Retry-After": "2" });
  });
});

describe("bearerChallenge", () => {
  it("keeps every printable ASCII character but the quote and the backslash, and drops the rest: controls, tab, non-ASCII (RFC 6750 §3)", () => {
    const kept = " !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}~";
    expect(bearerChallenge(undefined, [["error_description", kept]])).toBe(`Bearer error_description="${kept}"`);
    const dropped = "\x00\t\x1f\"\\\x7f\u00e9\u2028";
    expect(bearerChallenge(undefined, [["error_description", `a${dropped}b`]])).toBe('Bearer error_description="ab"');
  });

  it("drops characters that could break out of a quoted-string", () => {
    expect(bearerChallenge("a\"b\\c", [["error_description", 'say "hi"\r\n']])).toBe(
      'Bearer realm="abc", error_description="say hi"',
    );
  });

  it("is just the scheme without realm or params", () => {
    expect(bearerChallenge(undefined, [])).toBe("Bearer");
  });
});
