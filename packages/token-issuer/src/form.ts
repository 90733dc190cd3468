import { InvalidRequestError } from "./errors.js";

export interface FormLimits {
  /** Largest accepted number of parameters (default 32). */
  maxParameters?: number;
}

/**
 * Parses an `application/x-www-form-urlencoded` body (the token and
 * introspection endpoints' only media type, RFC 6749 §4.4.2, RFC 7662 §2.1)
 * strictly: invalid percent-encoding or UTF-8 is malformed, a repeated
 * parameter is refused (RFC 6749 §3.2: "Request and response parameters MUST
 * NOT be included more than once"), and a parameter without a value is
 * treated as omitted (RFC 6749 §3.1).
 */
export function parseForm(body: string, limits: FormLimits = {}): Map<string, string> {
  const maxParameters = limits.maxParameters ?? 32;
  const params = new Map<string, string>();
  const seen = new Set<string>();
  if (body === "") return params;
  const pairs = body.split("&");
  if (pairs.length > maxParameters) throw new InvalidRequestError("too many parameters");
  for (const pair of pairs) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? "" : decode(pair.slice(eq + 1));
    if (name === "") throw new InvalidRequestError("the request body is malformed");
    if (seen.has(name)) throw new InvalidRequestError(`parameter ${JSON.stringify(safeName(name))} is repeated`);
    seen.add(name);
    if (value !== "") params.set(name, value);
  }
  return params;
}

function decode(component: string): string {
  if (!component.includes("%") && !component.includes("+")) return component;
  try {
    // `+` is a space in this media type; decodeURIComponent throws on bad escapes and bad UTF-8.
    return decodeURIComponent(component.replace(/\+/g, " "));
  } catch {
    throw new InvalidRequestError("the request body is malformed");
  }
}

/** Parameter names come from the client; keep them short and printable in our answers. */
function safeName(name: string): string {
  const printable = name.replace(/[^\x20-\x7E]/g, "?");
  return printable.length > 40 ? `${printable.slice(0, 37)}...` : printable;
}

/**
 * Checks a `Content-Type` header for `application/x-www-form-urlencoded`,
 * allowing only a UTF-8 (or US-ASCII) charset parameter.
 */
export function isFormContentType(header: string | undefined): boolean {
  if (header === undefined) return false;
  const [type, ...params] = header.split(";").map((part) => part.trim().toLowerCase());
  if (type !== "application/x-www-form-urlencoded") return false;
  return params.every((param) => {
    if (param === "") return true;
    const [key, raw] = param.split("=", 2).map((s) => s.trim());
    if (key !== "charset") return false;
    const charset = (raw ?? "").replace(/^"|"$/g, "");
    return charset === "utf-8" || charset === "us-ascii";
  });
}
