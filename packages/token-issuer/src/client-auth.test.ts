import { describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION_TYPE } from "./client-assertion.js";
import { presentedCredentials } from "./client-auth.js";
import { InvalidClientError, InvalidRequestError } from "./errors.js";

const basic = (raw: string) => `Basic ${Buffer.from(raw).toString("base64")}`;
const params = (entries: Record<string, string> = {}) => new Map(Object.entries(entries));

describe("presentedCredentials (RFC 6749 §2.3)", () => {
  it("reads Basic credentials as form-urlencoded id and secret (§2.3.1)", () => {
    expect(presentedCredentials(basic("my%3Aclient:p%40ss+word%3A"), params(), "r")).toEqual({
      method: "client_secret_basic",
      clientId: "my:client",
      secret: "p@ss word:",
    });
  });

  it("reads client_secret_post and private_key_jwt from the body", () => {
    expect(presentedCredentials(undefined, params({ client_id: "a", client_secret: "s" }), "r")).toEqual({
      method: "client_secret_post",
      clientId: "a",
      secret: "s",
    });
    expect(
      presentedCredentials(undefined, params({ client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: "x.y.z" }), "r"),
    ).toEqual({ method: "private_key_jwt", assertion: "x.y.z" });
  });

  it("refuses more than one method with invalid_request", () => {
    expect(() => presentedCredentials(basic("a:s"), params({ client_id: "a", client_secret: "s" }), "r")).toThrow(InvalidRequestError);
    expect(() =>
      presentedCredentials(
        undefined,
        params({ client_id: "a", client_secret: "s", client_assertion_type: JWT_BEARER_ASSERTION_TYPE, client_assertion: "x" }),
        "r",
      ),
    ).toThrow(/more than one/);
  });

  it("answers a malformed Basic header with invalid_client and a Basic challenge", () => {
    for (const header of ["Basic !!!", basic("no-colon"), basic(":secret"), "Bearer abc"]) {
      try {
        presentedCredentials(header, params(), "auth");
        expect.unreachable(header);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidClientError);
        expect((error as InvalidClientError).headers["WWW-Authenticate"]).toBe('Basic realm="auth"');
      }
    }
  });

  it("refuses a client_id that contradicts Basic, and half an assertion", () => {
    expect(() => presentedCredentials(basic("a:s"), params({ client_id: "b" }), "r")).toThrow(InvalidRequestError);
    expect(presentedCredentials(basic("a:s"), params({ client_id: "a" }), "r").method).toBe("client_secret_basic");
    expect(() => presentedCredentials(undefined, params({ client_assertion: "x" }), "r")).toThrow(InvalidRequestError);
    expect(() => presentedCredentials(undefined, params({ client_assertion_type: "saml", client_assertion: "x" }), "r")).toThrow(
      InvalidClientError,
    );
  });

  it("reports no authentication as method none", () => {
    expect(presentedCredentials(undefined, params({ client_id: "a" }), "r")).toEqual({ method: "none", clientId: "a" });
  });

  it("says what was wrong: for the client (invalid_request) or for the log (invalid_client's reason)", () => {
    const outcome = (authorization: string | undefined, entries: Record<string, string>) => {
      try {
        return presentedCredentials(authorization, params(entries), "r");
      } catch (error) {
        if (error instanceof InvalidClientError) return `invalid_client (${error.reason}) ${JSON.stringify(error.headers["WWW-Authenticate"] ?? null)}`;
        return `${(error as InvalidRequestError).code}: ${(error as InvalidRequestError).description}`;
      }
    };
    const challenge = JSON.stringify('Basic realm="r"');
    expect(outcome(undefined, { client_secret: "s" })).toBe("invalid_request: client_secret given without client_id");
    expect(outcome(undefined, { client_assertion_type: JWT_BEARER_ASSERTION_TYPE })).toBe("invalid_request: client_assertion and client_assertion_type go together");
    expect(outcome(undefined, { client_assertion: "x", client_assertion_type: "saml" })).toBe(
      `invalid_client (unsupported client_assertion_type (expected ${JWT_BEARER_ASSERTION_TYPE})) null`,
    );
    expect(outcome(basic("a:s"), { client_id: "a", client_secret: "s" })).toBe("invalid_request: more than one client authentication method used");
    expect(outcome(basic("a:s"), { client_id: "b" })).toBe("invalid_request: client_id does not match the client of the Authorization header");
    expect(outcome("Bearer abc", {})).toBe(`invalid_client (unsupported authentication scheme (use Basic)) ${challenge}`);
    expect(outcome("Digest x", {})).toBe(`invalid_client (unsupported authentication scheme (use Basic)) ${challenge}`);
    expect(outcome("", {})).toBe(`invalid_client (unsupported authentication scheme (use Basic)) ${challenge}`);
    for (const header of ["Basic !!!", "basic", "Basic", "BASIC a b", basic("no-colon"), basic(":secret"), basic("id:"), basic("id:%zz"), basic("%zz:s")]) {
      expect(outcome(header, {}), header).toBe(`invalid_client (malformed Basic credentials) ${challenge}`);
    }
    // the scheme in any case, any number of spaces after it, trailing spaces: RFC 7235 §2.1
    for (const header of [`basic ${basic("a:s").slice(6)}`, `BASIC   ${basic("a:s").slice(6)}`, `${basic("a:s")}  `]) {
      expect(outcome(header, {}), header).toEqual({ method: "client_secret_basic", clientId: "a", secret: "s" });
    }
    // private_key_jwt with a client_id, and without
    expect(outcome(undefined, { client_id: "c", client_assertion: "x", client_assertion_type: JWT_BEARER_ASSERTION_TYPE })).toEqual({
      method: "private_key_jwt",
      clientId: "c",
      assertion: "x",
    });
    expect(outcome(undefined, {})).toStrictEqual({ method: "none" });
    expect(outcome(undefined, { client_assertion: "x", client_assertion_type: JWT_BEARER_ASSERTION_TYPE })).toStrictEqual({ method: "private_key_jwt", assertion: "x" });
    // the whole header is the scheme, the credentials and spaces: nothing before, nothing after
    expect(outcome(`X${basic("a:s")}`, {})).toBe(`invalid_client (unsupported authentication scheme (use Basic)) ${challenge}`);
    expect(outcome(`${basic("a:s")} junk`, {})).toBe(`invalid_client (malformed Basic credentials) ${challenge}`);
  });

  it("knows the RFC 7523 §2.2 assertion type by its registered URN", () => {
    const urn = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
    expect(presentedCredentials(undefined, params({ client_assertion_type: urn, client_assertion: "x" }), "r")).toEqual({ method: "private_key_jwt", assertion: "x" });
  });
});
