/**
 * Whether any object in `text`, which `JSON.parse` accepted, names a member
 * twice. Member names are compared as `JSON.parse` decodes them, so `"a"` and
 * `"\u0061"` are the same name.
 *
 * RFC 7515 §5.2 and RFC 7519 §4 let a JWT parser either refuse duplicate
 * names or keep the last one, as `JSON.parse` and jose do. We refuse: an
 * assertion whose `{"sub":"a","sub":"b"}` means one client to us and another
 * to whatever else reads it (a log, a proxy, a parser that keeps the first)
 * is one two parties read differently. (The same check as the verifier's
 * `src/json.ts`: each package stands alone.)
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

/** Whether the header or the payload of a compact JWS is JSON that names a member twice in some object. */
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
