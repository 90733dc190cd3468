import { InvalidScopeError } from "./errors.js";

/** RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/** True when `value` is one RFC 6749 §3.3 scope token. */
export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}

/**
 * Parses a `scope` parameter (RFC 6749 §3.3: space-delimited, case-sensitive,
 * order irrelevant) into its distinct tokens, in the order given.
 * Anything else than single spaces between valid tokens is `invalid_scope`.
 */
export function parseScope(value: string): string[] {
  const tokens = value.split(" ");
  for (const token of tokens) {
    if (!isScopeToken(token)) throw new InvalidScopeError("scope is malformed: expected space-delimited scope tokens");
  }
  return [...new Set(tokens)];
}

/** Formats scope tokens for a response or a token claim. */
export function formatScope(scopes: readonly string[]): string {
  return scopes.join(" ");
}
