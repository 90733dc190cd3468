import { Buffer } from "node:buffer";
import { InvalidTokenError } from "./errors.js";

/**
 * Refuses a token any of whose dot-separated parts is not the one spelling
 * RFC 7515 §2 allows: base64url (RFC 4648 §5) "with all trailing '='
 * characters omitted", and with the bits RFC 4648 §3.5 leaves unused in the
 * last character set to zero. Lenient decoders (jose's among them) take
 * padding and any value of those bits, so without this check one genuine
 * token has some thirty spellings that all verify, each its own entry in
 * the cache of verified tokens and its own fingerprint in the logs.
 *
 * Decoding, then encoding again, gives the canonical text: any difference
 * is padding, a character outside the alphabet, set unused bits, or a
 * length no encoding has (1 mod 4).
 */
export function checkCanonicalEncoding(token: string): void {
  for (const part of token.split(".")) {
    if (Buffer.from(part, "base64url").toString("base64url") !== part) {
      throw new InvalidTokenError("the access token is malformed");
    }
  }
}
