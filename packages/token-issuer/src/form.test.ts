import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "./errors.js";
import { isFormContentType, parseForm } from "./form.js";

describe("parseForm", () => {
  it("decodes percent-escapes and + as space", () => {
    const form = parseForm("grant_type=client_credentials&scope=charge%3Acustomer+charge%3Aread");
    expect(form.get("grant_type")).toBe("client_credentials");
    expect(form.get("scope")).toBe("charge:customer charge:read");
  });

  it("treats a parameter without a value as omitted (RFC 6749 §3.1)", () => {
    const form = parseForm("grant_type=client_credentials&scope=&resource");
    expect(form.has("scope")).toBe(false);
    expect(form.has("resource")).toBe(false);
  });

  it("refuses a repeated parameter, even when one occurrence is empty (RFC 6749 §3.2)", () => {
    expect(() => parseForm("scope=a&scope=b")).toThrow(InvalidRequestError);
    expect(() => parseForm("scope=&scope=b")).toThrow(/repeated/);
  });

  it("refuses malformed percent-encoding and invalid UTF-8", () => {
    expect(() => parseForm("scope=%E0%A4%A")).toThrow(InvalidRequestError);
    expect(() => parseForm("scope=%ZZ")).toThrow(InvalidRequestError);
    expect(() => parseForm("scope=%C3%28")).toThrow(InvalidRequestError);
    expect(() => parseForm("=value")).toThrow(InvalidRequestError);
  });

  it("refuses more parameters than the limit", () => {
    const body = Array.from({ length: 33 }, (_, i) => `p${i}=x`).join("&");
    expect(() => parseForm(body)).toThrow(/too many parameters/);
    expect(parseForm(body, { maxParameters: 40 }).size).toBe(33);
  });
});

describe("isFormContentType", () => {
  it("accepts the form media type with an optional UTF-8 charset, nothing else", () => {
    expect(isFormContentType("application/x-www-form-urlencoded")).toBe(true);
    expect(isFormContentType("application/x-www-form-urlencoded; charset=UTF-8")).toBe(true);
    expect(isFormContentType("application/x-www-form-urlencoded; charset=iso-8859-1")).toBe(false);
    expect(isFormContentType("application/json")).toBe(false);
    expect(isFormContentType("multipart/form-data")).toBe(false);
    expect(isFormContentType(undefined)).toBe(false);
  });
});
