import { describe, expect, it } from "vitest";
import { normalizeHtu } from "./htu.js";

describe("normalizeHtu (RFC 9449 §4.3 check 9)", () => {
  it.each([
    ["https://as.example/token?x=1#f", "query and fragment are ignored"],
    ["HTTPS://AS.Example/token", "scheme and host are case-insensitive (RFC 3986 §6.2.2.1)"],
    ["https://as.example:443/token", "the default port is the same URI (RFC 3986 §6.2.3)"],
    ["https://as.example/a/../token", "dot segments are removed (RFC 3986 §6.2.2.3)"],
    ["https://as.example/%74oken", "a percent-encoded unreserved character is the character (RFC 3986 §6.2.2.2)"],
  ])("%s is https://as.example/token: %s", (htu) => {
    expect(normalizeHtu(htu)).toBe("https://as.example/token");
  });

  it("keeps reserved percent-encodings, in upper case (RFC 3986 §6.2.2.1)", () => {
    expect(normalizeHtu("https://as.example/a%2fb")).toBe("https://as.example/a%2Fb");
    expect(normalizeHtu("https://as.example/a/b")).not.toBe(normalizeHtu("https://as.example/a%2Fb"));
  });

  it("an empty path is /", () => {
    expect(normalizeHtu("http://as.example")).toBe("http://as.example/");
  });

  it("decodes every unreserved character, in either case of hex digit, and only those", () => {
    expect(normalizeHtu("https://as.example/%41%5a%61%7A%30%39%2D%2E%5F%7e")).toBe("https://as.example/AZaz09-._~");
    expect(normalizeHtu("https://as.example/%2f%3a%40%21%25")).toBe("https://as.example/%2F%3A%40%21%25");
  });

  it.each(["/token", "as.example/token", "ftp://as.example/token", "https://user:pw@as.example/token", "https://user@as.example/token", "https://:pw@as.example/token", "https://", ""])(
    "matches nothing for %j: not an absolute http(s) URI without user information",
    (htu) => {
      expect(normalizeHtu(htu)).toBeUndefined();
    },
  );

  it("tells other schemes, hosts, ports and paths apart", () => {
    const base = normalizeHtu("https://as.example/token");
    for (const other of ["http://as.example/token", "https://as.example:8443/token", "https://as.example.evil/token", "https://as.example/token/", "https://as.example/Token"]) {
      expect(normalizeHtu(other), other).not.toBe(base);
    }
  });
});
