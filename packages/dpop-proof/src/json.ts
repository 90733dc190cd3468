const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a JOSE header or a JWT Claims Set: UTF-8 JSON (RFC 8259) whose top
 * level is an object, with no member name twice in any object. Returns
 * `undefined` for anything else.
 *
 * RFC 7515 §5.2 and RFC 7519 §4 let a parser either refuse duplicate names
 * or keep the last one, which is what `JSON.parse` does. We refuse: a token
 * whose `{"aud":"other","aud":"payment-service"}` means one thing to us and
 * another to a proxy, a log reader or a library that keeps the first is a
 * token two parties read differently, and no issuer of ours writes one.
 */
export function parseJsonObject(bytes: Uint8Array | string): Record<string, unknown> | undefined {
  let text: string;
  let value: unknown;
  try {
    text = typeof bytes === "string" ? bytes : strictUtf8.decode(bytes);
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return hasDuplicateMemberNames(text) ? undefined : (value as Record<string, unknown>);
}

/**
 * Whether any object in `text`, which `JSON.parse` accepted, names a member
 * twice. Member names are compared as `JSON.parse` decodes them, so `"a"` and
 * `"\u0061"` are the same name.
 */
export function hasDuplicateMemberNames(text: string): boolean {
  // one entry per open object or array: the names seen so far, or null for an array
  const open: Array<Set<string> | null> = [];
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      const names = open.at(-1);
      if (expectName && names) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (char === "{") {
      open.push(new Set());
      expectName = true;
    } else if (char === "[") {
      open.push(null);
      expectName = false;
    } else if (char === "}" || char === "]") {
      open.pop();
    } else if (char === ",") {
      expectName = open.at(-1) instanceof Set;
    }
  }
  return false;
}
