/** RFC 3986 §2.3 unreserved characters: a percent-encoded one is the same URI as the character itself. */
const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * The form in which a DPoP proof's `htu` is compared with the URI of the
 * request it was sent with (RFC 9449 §4.3, check 9): the query and fragment
 * are dropped, then syntax-based (RFC 3986 §6.2.2) and scheme-based (§6.2.3)
 * normalisation is applied, as §4.3 says servers SHOULD before comparing.
 *
 * The WHATWG URL parser already does most of it: scheme and host in lower
 * case, dot segments removed, the default port dropped, an empty path made
 * `/`. What it leaves is percent-encoding: hex digits in upper case, and
 * unreserved characters decoded (`%7E` is `~`).
 *
 * Only absolute `http` and `https` URIs without user information count;
 * anything else is `undefined`, which matches nothing.
 */
export function normalizeHtu(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username !== "" || url.password !== "") return undefined;
  const path = url.pathname.replace(/%[0-9A-Fa-f]{2}/g, (escape) => {
    const char = String.fromCharCode(Number.parseInt(escape.slice(1), 16));
    return UNRESERVED.test(char) ? char : escape.toUpperCase();
  });
  return `${url.protocol}//${url.host}${path}`;
}
