import { describe, expect, it } from "vitest";
import { hasScopes, requiredScopeTokens, scopeTokens } from "./scope.js";

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
