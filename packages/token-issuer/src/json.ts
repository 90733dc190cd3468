import { hasDuplicateMemberNames } from "@m2m/dpop-proof";

/**
 * Whether the header or the payload of a compact JWS is JSON that names a
 * member twice in some object. Member names are compared as `JSON.parse`
 * decodes them, so `"a"` and `"\u0061"` are the same name.
 *
 * RFC 7515 §5.2 and RFC 7519 §4 let a JWT parser either refuse duplicate
 * names or keep the last one, as `JSON.parse` and jose do. We refuse: an
 * assertion whose `{"sub":"a","sub":"b"}` means one client to us and another
 * to whatever else reads it (a log, a proxy, a parser that keeps the first)
 * is one two parties read differently. (The scan is `@m2m/dpop-proof`'s
 * `hasDuplicateMemberNames`, the one token-verifier's parser uses too.)
 */
export function jwsHasDuplicateMemberNames(jws: string): boolean {
  return jws
    .split(".")
    .slice(0, 2)
    .some((part) => {
      const text = Buffer.from(part, "base64url").toString("utf8");
      try {
        JSON.parse(text);
      } catch {
        return false; // not JSON: jose refuses it on its own
      }
      return hasDuplicateMemberNames(text);
    });
}
