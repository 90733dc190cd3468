const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Every other way to write the bytes of a base64url `segment` that a lenient
 * decoder takes as the same: another final character differing only in the
 * bits RFC 4648 §3.5 leaves unused, `=` padding, and the `+` `/` alphabet.
 * A JWS or JWT has one spelling (RFC 7515 §2); a test checks that the others are refused.
 */
export function otherSpellings(segment: string): string[] {
  const unusedBits = [0, 0, 4, 2][segment.length % 4] as number;
  const last = BASE64URL_ALPHABET.indexOf(segment.at(-1) as string);
  const first = last - (last % 2 ** unusedBits);
  const stems = Array.from({ length: 2 ** unusedBits }, (_, low) => `${segment.slice(0, -1)}${BASE64URL_ALPHABET[first + low]}`);
  const padding = "=".repeat((4 - (segment.length % 4)) % 4);
  const spellings = [...stems, ...stems.map((stem) => `${stem}${padding}`), segment.replace(/-/g, "+").replace(/_/g, "/")];
  return [...new Set(spellings)].filter((spelling) => spelling !== segment);
}
