/** RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The tokens of a token's `scope` claim: RFC 6749 §3.3 (and RFC 9068
 * §2.2.3) make it "a list of space-delimited, case-sensitive strings". Split
 * on spaces and kept as they are: a token that is not a valid scope token
 * (`charge:customer\tcharge:read`) is kept whole, and so matches nothing a
 * resource requires.
 */
export function scopeTokens(scope: string): string[] {
  return scope.split(" ").filter((token) => token !== "");
}

/** A required scope, as configured: one or more RFC 6749 §3.3 scope tokens, else `undefined`. */
export function requiredScopeTokens(scope: string): string[] | undefined {
  const tokens = scope.split(" ");
  return tokens.every((token) => SCOPE_TOKEN.test(token)) ? tokens : undefined;
}

/**
 * `true` when every required scope token is granted. Matching is exact,
 * token by token, so `charge:customers` or `charge:customer:x` never pass
 * for `charge:customer`.
 */
export function hasScopes(granted: readonly string[], required: readonly string[]): boolean {
  return required.every((scope) => granted.includes(scope));
}
