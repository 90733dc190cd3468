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
});
