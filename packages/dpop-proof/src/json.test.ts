import { describe, expect, it } from "vitest";
import { hasDuplicateMemberNames, parseJsonObject } from "./json.js";

describe("parseJsonObject and hasDuplicateMemberNames, at the edges", () => {
  it("parseJsonObject takes text as well as bytes, and refuses bytes that are not UTF-8", () => {
    expect(parseJsonObject('{"a":1}')).toEqual({ a: 1 });
    expect(parseJsonObject(Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]))).toBeUndefined();
    expect(hasDuplicateMemberNames('{"a":{"b":1},"c":{"b":2}}')).toBe(false);
    expect(hasDuplicateMemberNames('{"a":["a","a"],"b":1}')).toBe(false);
    expect(hasDuplicateMemberNames('{"a\\"":1,"a\\"":2}')).toBe(true);
  });
});
