/** One challenge of a `WWW-Authenticate` header (RFC 9110 §11.6.1). */
export interface Challenge {
  /** The scheme, lower-cased (`bearer`, `basic`). */
  scheme: string;
  /** Auth-params, names lower-cased, quoted values unescaped. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;

/**
 * Parses a `WWW-Authenticate` header into its challenges. Lenient: it never
 * throws, and skips what it cannot read (a token68, stray characters).
 */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const text = typeof header === "string" ? header : header.join(", ");
  const challenges: Challenge[] = [];
  let current: Challenge | undefined;
  let pos = 0;

  const skip = (chars: RegExp) => {
    while (pos < text.length && chars.test(text[pos] as string)) pos++;
  };
  const token = (): string | undefined => {
    TOKEN.lastIndex = pos;
    const match = TOKEN.exec(text);
    if (!match) return undefined;
    pos = TOKEN.lastIndex;
    return match[0];
  };
  const quoted = (): string => {
    let value = "";
    pos++; // opening quote
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === "\\" && pos + 1 < text.length) pos++;
      value += text[pos];
      pos++;
    }
    pos++; // closing quote
    return value;
  };

  while (pos < text.length) {
    skip(/[\s,]/);
    const name = token();
    if (name === undefined) {
      pos++;
      continue;
    }
    skip(/\s/);
    if (text[pos] === "=" && current) {
      pos++;
      skip(/\s/);
      const value = text[pos] === '"' ? quoted() : (token() ?? "");
      current.params[name.toLowerCase()] = value;
    } else {
      current = { scheme: name.toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

/** True when a `Bearer` or `DPoP` challenge says `error="invalid_token"` (RFC 6750 §3.1, RFC 9449 §7.1). */
export function isInvalidTokenChallenge(header: string | readonly string[] | undefined): boolean {
  return parseChallenges(header).some((c) => (c.scheme === "bearer" || c.scheme === "dpop") && c.params.error === "invalid_token");
}

/** True when a `DPoP` challenge says `error="use_dpop_nonce"` (RFC 9449 §9): send again with the server's nonce. */
export function isNonceChallenge(header: string | readonly string[] | undefined): boolean {
  return parseChallenges(header).some((c) => c.scheme === "dpop" && c.params.error === "use_dpop_nonce");
}
