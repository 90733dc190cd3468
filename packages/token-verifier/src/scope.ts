/**
 * The scope tokens of a `scope` claim: RFC 6749 §3.3 (and RFC 9068 §2.2.3)
 * make it "a list of space-delimited, case-sensitive strings". Matching is
 * exact, token by token, so `charge:customers` or `charge:customer:x` never
 * pass for `charge:customer`.
 */
export function parseScope(scope: string): string[] {
  return scope.split(" ").filter((token) => token !== "");
}

/** `true` when every required scope token is granted. */
export function hasScopes(granted: readonly string[], required: readonly string[]): boolean {
  return required.every((scope) => granted.includes(scope));
}
