import { describe, expect, it } from "vitest";
import { metadataUrlFor } from "../src/discovery.js";
import { hasScopes, requiredScopeTokens, scopeTokens } from "../src/scope.js";

describe("metadataUrlFor (RFC 8414 §3.1)", () => {
  it("appends the well-known path to an issuer without a path", () => {
    expect(metadataUrlFor("http://localhost:4000")).toBe("http://localhost:4000/.well-known/oauth-authorization-server");
  });

  it("inserts it between the host and the path of an issuer with one", () => {
    expect(metadataUrlFor("https://as.example/tenant/one")).toBe(
      "https://as.example/.well-known/oauth-authorization-server/tenant/one",
    );
  });
});

describe("scope (RFC 6749 §3.3)", () => {
  it("splits on spaces and matches whole, case-sensitive tokens only", () => {
    const granted = scopeTokens("charge:customer charge:read");
    expect(hasScopes(granted, ["charge:customer"])).toBe(true);
    expect(hasScopes(granted, ["charge:customer", "charge:read"])).toBe(true);
    expect(hasScopes(scopeTokens("charge:customers"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens("charge:customer:x"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens("CHARGE:CUSTOMER"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens("charge:customer\tcharge:read"), ["charge:customer"])).toBe(false);
    expect(hasScopes(scopeTokens(""), ["charge:customer"])).toBe(false);
  });

  it.each(["", "charge:customer  charge:read", " charge:customer", "charge:customer ", 'a"b', "a\\b", "é", "a\tb"])(
    "a required scope must be scope tokens: %j is not",
    (value) => {
      expect(requiredScopeTokens(value)).toBeUndefined();
    },
  );
});
