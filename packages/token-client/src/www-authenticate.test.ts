import { describe, expect, it } from "vitest";
import { isInvalidTokenChallenge, parseChallenges } from "./www-authenticate.js";

describe("WWW-Authenticate", () => {
  it("reads the auth-params of a Bearer challenge, quoted commas and escapes included", () => {
    expect(parseChallenges('Bearer realm="payment-service", error="invalid_token", error_description="expired, 3s ago \\"x\\""')).toEqual([
      { scheme: "bearer", params: { realm: "payment-service", error: "invalid_token", error_description: 'expired, 3s ago "x"' } },
    ]);
  });

  it("tells several challenges apart", () => {
    expect(parseChallenges('Basic realm="a", Bearer error=invalid_token, scope="x y"')).toEqual([
      { scheme: "basic", params: { realm: "a" } },
      { scheme: "bearer", params: { error: "invalid_token", scope: "x y" } },
    ]);
  });

  it("recognises only a Bearer invalid_token challenge", () => {
    expect(isInvalidTokenChallenge('Bearer realm="p", error="invalid_token"')).toBe(true);
    expect(isInvalidTokenChallenge(['Basic realm="p"', 'Bearer error="invalid_token"'])).toBe(true);
    expect(isInvalidTokenChallenge('Bearer realm="p"')).toBe(false);
    expect(isInvalidTokenChallenge('Bearer error="insufficient_scope", scope="charge:customer"')).toBe(false);
    expect(isInvalidTokenChallenge('Bearer error_description="error=\\"invalid_token\\""')).toBe(false);
    expect(isInvalidTokenChallenge('Basic error="invalid_token"')).toBe(false);
    expect(isInvalidTokenChallenge(undefined)).toBe(false);
  });

  it("never throws on garbage", () => {
    expect(() => parseChallenges('Negotiate abc==, ,,"= Bearer x="unterminated')).not.toThrow();
  });
});
