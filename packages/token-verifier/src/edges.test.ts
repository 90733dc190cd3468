import { generateKeyPairSync } from "node:crypto";
import type { JWK } from "jose";
import { describe, expect, it } from "vitest";
import { checkAlgorithms } from "./algorithms.js";
import { authorizationFields, headerFields } from "./bearer.js";
import { checkRequiredClaims, checkTimes, type AccessTokenClaims } from "./claims.js";
import { bearerChallenge, InvalidTokenError, TemporarilyUnavailableError } from "./errors.js";
import { verifyCompactJws } from "./jws.js";
import { TokenCache } from "./token-cache.js";

// The lines the verifier draws, at the line: each boundary on both sides.
const NOW = 1_800_000_000;
const claims = (overrides: Partial<AccessTokenClaims> = {}): AccessTokenClaims => ({
  iss: "i",
  sub: "s",
  aud: "a",
  client_id: "c",
  scope: "x",
  jti: "j",
  iat: NOW,
  exp: NOW + 300,
  ...overrides,
});
const refusalOf = (check: () => void): string | undefined => {
  try {
    check();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTokenError);
    return (error as InvalidTokenError).description;
  }
};

describe("checkTimes, with 5 s of leeway", () => {
  it("takes exp one second past now minus the leeway, and refuses it at the line", () => {
    expect(refusalOf(() => checkTimes(claims({ exp: NOW - 4 }), NOW, 5))).toBeUndefined();
    expect(refusalOf(() => checkTimes(claims({ exp: NOW - 5 }), NOW, 5))).toBe("the access token has expired");
  });

  it("takes nbf and iat at now plus the leeway, and refuses them a second later", () => {
    expect(refusalOf(() => checkTimes(claims({ nbf: NOW + 5 }), NOW, 5))).toBeUndefined();
    expect(refusalOf(() => checkTimes(claims({ nbf: NOW + 6 }), NOW, 5))).toBe("the access token is not valid yet");
    expect(refusalOf(() => checkTimes(claims({ iat: NOW + 5 }), NOW, 5))).toBeUndefined();
    expect(refusalOf(() => checkTimes(claims({ iat: NOW + 6 }), NOW, 5))).toBe("the access token is issued in the future");
  });
});

describe("checkRequiredClaims", () => {
  it("says which claim and what it should have been", () => {
    expect(refusalOf(() => checkRequiredClaims({ ...claims(), sub: "" }))).toBe("the access token's sub claim is not a non-empty string");
    expect(refusalOf(() => checkRequiredClaims({ ...claims(), scope: 1 }))).toBe("the access token's scope claim is not a string");
    expect(refusalOf(() => checkRequiredClaims({ ...claims(), scope: "" }))).toBeUndefined();
  });

  it("takes a cnf that is exactly one jkt, a SHA-256 thumbprint, and refuses every other confirmation (RFC 7800 §3.1, RFC 9449 §6.1)", () => {
    const jkt = "A".repeat(43);
    expect(refusalOf(() => checkRequiredClaims({ ...claims(), cnf: { jkt } }))).toBeUndefined();
    expect(refusalOf(() => checkRequiredClaims({ ...claims(), cnf: { jkt: "0123456789abcdefghijklmnopqrstuvwxyzABCD-_Z" } }))).toBeUndefined();
    for (const cnf of [
      null,
      "jkt",
      [jkt],
      {},
      { jkt: "A".repeat(42) },
      { jkt: "A".repeat(44) },
      { jkt: `${"A".repeat(42)}=` },
      { jkt: `${"A".repeat(42)}+` },
      { jkt: 42 },
      { jkt, x5t: "y" },
      { "x5t#S256": jkt },
      { jwk: {} },
    ]) {
      expect(refusalOf(() => checkRequiredClaims({ ...claims(), cnf } as never)), JSON.stringify(cnf)).toBe("the access token's cnf claim is not a jkt this resource server can check");
    }
  });

  it("takes a NumericDate a Date can hold, up to 8.64e12 s either side of 1970, and nothing else", () => {
    for (const exp of [8.64e12, -8.64e12, 0, 1.5]) expect(refusalOf(() => checkRequiredClaims({ ...claims(), exp })), String(exp)).toBeUndefined();
    for (const exp of [8.64e12 + 1, -8.64e12 - 1]) expect(refusalOf(() => checkRequiredClaims({ ...claims(), exp }))).toBe("the access token's exp claim is out of range");
    for (const exp of [Number.NaN, Number.POSITIVE_INFINITY, "1", null]) {
      expect(refusalOf(() => checkRequiredClaims({ ...claims(), exp } as never))).toBe("the access token's exp claim is not a NumericDate");
    }
    expect(refusalOf(() => checkRequiredClaims({ ...claims(), nbf: "1" } as never))).toBe("the access token's nbf claim is not a NumericDate");
  });
});

describe("errors", () => {
  it("keeps a cause only when given one", () => {
    const cause = new Error("socket");
    expect(new TemporarilyUnavailableError(1, { cause }).cause).toBe(cause);
    expect("cause" in new InvalidTokenError("x")).toBe(false);
    expect(new TemporarilyUnavailableError(1).description).toBe("the issuer's signing keys cannot be fetched right now");
  });

  it("writes a DPoP challenge with algs when the error carries them (RFC 9449 §7.1), a Bearer one otherwise", () => {
    const dpop = new InvalidTokenError("bad", { realm: "r", dpopAlgs: ["ES256", "EdDSA"] });
    expect(dpop.headers).toEqual({ "WWW-Authenticate": 'DPoP realm="r", error="invalid_token", error_description="bad", algs="ES256 EdDSA"' });
    expect(new InvalidTokenError("bad", { realm: "r" }).headers).toEqual({ "WWW-Authenticate": 'Bearer realm="r", error="invalid_token", error_description="bad"' });
    expect(dpop.name).toBe("InvalidTokenError");
    expect(dpop.toJSON()).toEqual({ error: "invalid_token", error_description: "bad" });
  });

  it("writes a challenge with or without a realm, and with no parameter at all", () => {
    expect(bearerChallenge(undefined, [])).toBe("Bearer");
    expect(bearerChallenge(undefined, [["error", "invalid_token"]])).toBe('Bearer error="invalid_token"');
    expect(bearerChallenge("r", [])).toBe('Bearer realm="r"');
  });
});

describe("the small parts", () => {
  it("checkAlgorithms refuses an empty allow-list", () => {
    expect(() => checkAlgorithms([])).toThrow(new TypeError("algorithms must not be empty"));
  });

  it("TokenCache refuses a size that is not a whole number, and remembers nothing with a size of 0", () => {
    for (const size of [-1, 1.5, Number.NaN]) expect(() => new TokenCache(size)).toThrow(new TypeError("maxEntries must be a non-negative integer"));
    const none = new TokenCache<number>(0);
    none.set("a", 1);
    expect(none.size).toBe(0);
    expect(none.get("a")).toBeUndefined();
  });

  it("authorizationFields finds every Authorization field in raw headers, in any case, and no other header", () => {
    expect(authorizationFields(["Host", "x", "authorization", "Bearer a", "X-Authorization", "no", "AUTHORIZATION", "Bearer b", "Authorizatio", "no"])).toEqual(["Bearer a", "Bearer b"]);
    expect(headerFields(["DPoP", "a", "dpop", "b", "x-dpop", "c"], "dpop")).toEqual(["a", "b"]);
  });

  it("verifyCompactJws passes a fault of the key lookup through as it is: a server fault, not a bad token", async () => {
    const jwk = { ...(generateKeyPairSync("ec", { namedCurve: "prime256v1" }).publicKey.export({ format: "jwk" }) as JWK) };
    const token = `${Buffer.from(JSON.stringify({ alg: "ES256", kid: "k" })).toString("base64url")}.e30.${Buffer.alloc(64).toString("base64url")}`;
    const fault = new TypeError("the key store is down");
    await expect(verifyCompactJws(token, async () => Promise.reject(fault), ["ES256"])).rejects.toBe(fault);
    await expect(verifyCompactJws(token, async () => jwk, ["ES256"])).rejects.toThrow(new InvalidTokenError("the access token's signature is invalid"));
  });
});

describe("extractAccessToken: what each refusal says", () => {
  it("names the problem for the client, and takes the token only where the scheme starts the field", async () => {
    const { extractAccessToken } = await import("./bearer.js");
    const said = (request: Parameters<typeof extractAccessToken>[0], mode: Parameters<typeof extractAccessToken>[1] = "off") => {
      try {
        return extractAccessToken(request, mode);
      } catch (error) {
        return `${(error as InvalidTokenError).status} ${(error as InvalidTokenError).description}`;
      }
    };
    expect(said({ authorization: ["Bearer a", "Bearer b"] })).toBe("400 the request has more than one Authorization header");
    expect(said({ authorization: "Bearer a", tokenInQuery: true })).toBe("400 the access token must be sent in the Authorization header only");
    expect(said({ authorization: "Bearer a", tokenInBody: true })).toBe("400 the access token must be sent in the Authorization header only");
    expect(said({ authorization: "Bearer a b" })).toBe("400 the Authorization header is not Bearer followed by one token");
    expect(said({ authorization: "DPoP a b" }, "allowed")).toBe("400 the Authorization header is not DPoP followed by one token");
    for (const authorization of [undefined, "", "   ", "xBearer abc", "Basic abc", "=Bearer abc"]) {
      expect(said({ authorization }), String(authorization)).toBe("401 this resource needs a Bearer access token");
    }
    expect(said({ authorization: "Bearer abc" }, "required")).toBe("401 this resource needs a DPoP-bound access token and a DPoP proof");
    expect(said({ authorization: [] })).toBe("401 this resource needs a Bearer access token");
    expect(said({ authorization: "Bearer abc" })).toEqual({ scheme: "bearer", token: "abc" });
    expect(said({ authorization: "DPoP abc" }, "allowed")).toEqual({ scheme: "dpop", token: "abc" });
  });
});
