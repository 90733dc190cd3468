import { describe, expect, it } from "vitest";
import { InvalidScopeError } from "./errors.js";
import { formatScope, parseScope } from "./scope.js";

describe("parseScope (RFC 6749 §3.3)", () => {
  it("splits on single spaces and drops duplicates", () => {
    expect(parseScope("charge:customer charge:read charge:customer")).toEqual(["charge:customer", "charge:read"]);
    expect(formatScope(["a", "b"])).toBe("a b");
  });

  it("refuses empty tokens, quotes, backslashes and control characters", () => {
    for (const bad of ["a  b", " a", "a ", 'a"', "a\\b", "a\tb", "é"]) {
      expect(() => parseScope(bad), JSON.stringify(bad)).toThrow(InvalidScopeError);
    }
  });
});
