// Property-based tests (fast-check) of parseJsonObject, with which
// token-verifier parses every token's header and claims: any JSON object
// comes back as it was, any other JSON value is refused, and so is an object
// naming a member twice, however deep and however spelled (the scan of
// hasDuplicateMemberNames, which token-issuer runs on client assertions).
// A failure prints fast-check's seed and path: rerun with
// `fc.assert(…, { seed, path })` to replay it.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseJsonObject } from "./json.js";

// PROPERTY_RUNS_SCALE shrinks every run count, as in the other packages' property tests
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;
const RUNS = runs(3000);

describe("parseJsonObject: a header or a claims set", () => {
  it("gives back any JSON object as it was, and nothing for any other JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = parseJsonObject(Buffer.from(JSON.stringify(value)));
        if (typeof value === "object" && value !== null && !Array.isArray(value)) expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
        else expect(parsed).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  }, PROPERTY_TIMEOUT);

  it("refuses an object with any member name given a second time, however deep, written plainly or escaped", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.jsonValue(), fc.boolean(), fc.nat(), (object, again, escaped, depth) => {
        const name = Object.keys(object)[0]!;
        const spelled = escaped ? `"${[...name].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("")}"` : JSON.stringify(name);
        let text = `${JSON.stringify(object).slice(0, -1)},${spelled}:${JSON.stringify(again)}}`;
        for (let i = 0; i < depth % 3; i++) text = `{"wrap":[${text}]}`;
        expect(parseJsonObject(Buffer.from(text))).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  }, PROPERTY_TIMEOUT);
});
