import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createVerifier, InvalidTokenError, type TokenVerifier, type VerifierOptions } from "./index.js";
import { otherSpellings } from "@m2m/test-support";
import { FakeClock, FakeIssuer, hmacWithPublicKey, makeKey, unsecuredToken } from "./testing/fake-issuer.js";

let issuer: FakeIssuer;
const clock = new FakeClock();

beforeAll(async () => {
  issuer = await FakeIssuer.start();
});
afterAll(async () => {
  await issuer.close();
});

function verifier(options: Partial<VerifierOptions> = {}): TokenVerifier {
  return createVerifier({
    issuer: issuer.issuer,
    audience: "payment-service",
    clock: clock.now,
    cacheMaxEntries: 0,
    ...options,
  });
}

function mint(options: Parameters<FakeIssuer["mint"]>[0] = {}): Promise<string> {
  return issuer.mint({ nowSec: clock.sec, ...options });
}

async function rejection(token: string, v = verifier()): Promise<InvalidTokenError> {
  const error = await v.verify(token).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(InvalidTokenError);
  return error as InvalidTokenError;
}

describe("a well-formed access token of the issuer", () => {
  it("is accepted, and its claims, header and scopes come back typed", async () => {
    const v = verifier();
    const token = await mint({ claims: { scope: "charge:customer charge:read" } });
    const verified = await v.verify(token);
    expect(verified.claims).toMatchObject({
      iss: issuer.issuer,
      sub: "order-service",
      client_id: "order-service",
      aud: "payment-service",
      iat: clock.sec,
      exp: clock.sec + 300,
    });
    expect(verified.header).toEqual({ alg: "RS256", kid: issuer.key.kid, typ: "at+jwt" });
    expect(verified.scopes).toEqual(["charge:customer", "charge:read"]);
    expect(verified.cached).toBe(false);
    expect(Object.isFrozen(verified.claims)).toBe(true);
    expect(v.ready).toBe(true);
  });

  it("is accepted with typ application/at+jwt, in any case (RFC 9068 §4)", async () => {
    await expect(verifier().verify(await mint({ header: { typ: "application/at+jwt" } }))).resolves.toBeDefined();
    await expect(verifier().verify(await mint({ header: { typ: "AT+JWT" } }))).resolves.toBeDefined();
  });

  it.each(["PS256", "ES256", "EdDSA"])("is accepted when signed with %s by a published key", async (alg) => {
    const key = await makeKey(alg);
    const other = await FakeIssuer.start(key);
    try {
      const v = createVerifier({ issuer: other.issuer, audience: "payment-service", clock: clock.now });
      await expect(v.verify(await other.mint({ nowSec: clock.sec }))).resolves.toMatchObject({ header: { alg } });
    } finally {
      await other.close();
    }
  });
});

describe("the signature and algorithm", () => {
  it("refuses alg none", async () => {
    const token = unsecuredToken({ alg: "none", typ: "at+jwt", kid: issuer.key.kid }, claimsNow());
    expect((await rejection(token)).description).toBe("the access token's algorithm is not accepted");
  });

  it("refuses HS256 signed with the issuer's public key as the secret", async () => {
    const token = await hmacWithPublicKey(issuer.key, claimsNow());
    expect((await rejection(token)).description).toBe("the access token's algorithm is not accepted");
  });

  it("refuses a token signed by a foreign key that claims the issuer's kid", async () => {
    const foreign = await makeKey("RS256", issuer.key.kid);
    const token = await mint({ key: foreign });
    expect((await rejection(token)).description).toBe("the access token's signature is invalid");
  });

  it("refuses a token whose signature was tampered with, or whose claims were", async () => {
    const token = await mint();
    const [h, p, s] = token.split(".") as [string, string, string];
    const flipped = `${h}.${p}.${s.slice(0, -2)}${s.endsWith("AA") ? "BB" : "AA"}`;
    expect((await rejection(flipped)).description).toBe("the access token's signature is invalid");
    const other = (await mint({ claims: { scope: "charge:customer charge:read" } })).split(".")[1];
    expect((await rejection(`${h}.${other}.${s}`)).description).toBe("the access token's signature is invalid");
  });

  it("refuses a token naming a kid the issuer does not publish", async () => {
    const stranger = await makeKey("ES256");
    expect((await rejection(await mint({ key: stranger }))).description).toBe("the key that signed the access token is unknown");
  });

  it("refuses an alg other than the one the key is published for", async () => {
    // the header names the issuer's RS256 key but says PS256
    const token = await mint({ key: await makeKey("PS256", issuer.key.kid) });
    expect((await rejection(token)).description).toBe("no key of the issuer matches the access token's kid and alg");
  });

  it("refuses an alg outside the configured allow-list", async () => {
    const v = verifier({ algorithms: ["ES256"] });
    expect((await rejection(await mint(), v)).description).toBe("the access token's algorithm is not accepted");
  });

  it("refuses to be configured with none or an HMAC algorithm", () => {
    expect(() => verifier({ algorithms: ["none"] })).toThrow(/not an asymmetric/);
    expect(() => verifier({ algorithms: ["RS256", "HS256"] })).toThrow(/not an asymmetric/);
  });

  it("ignores keys embedded in or pointed to by the header (jwk, jku, x5u)", async () => {
    const attacker = await makeKey("ES256");
    const token = await mint({
      key: attacker,
      header: { kid: attacker.kid, jwk: attacker.jwk, jku: `${issuer.url}/evil`, x5u: `${issuer.url}/evil` },
    });
    expect((await rejection(token)).description).toBe("the key that signed the access token is unknown");
  });
});

describe("typ, iss and aud", () => {
  it.each([["JWT"], ["jwt"], ["application/jwt"], [undefined]])("refuses typ %s", async (typ) => {
    expect((await rejection(await mint({ header: { typ } }))).description).toBe("the access token's type is not at+jwt");
  });

  it("refuses another issuer, even one that differs only by a trailing slash", async () => {
    for (const iss of ["http://evil.example", `${issuer.issuer}/`]) {
      expect((await rejection(await mint({ claims: { iss } }))).description).toBe("the access token's issuer is not accepted");
    }
  });

  it("refuses another audience", async () => {
    const token = await mint({ claims: { aud: "order-service" } });
    expect((await rejection(token)).description).toBe("the access token is not meant for this resource server");
  });

  it("refuses an aud array, even one that contains the audience", async () => {
    const token = await mint({ claims: { aud: ["payment-service", "order-service"] } });
    expect((await rejection(token)).description).toBe("the access token must name exactly one audience");
    const single = await mint({ claims: { aud: ["payment-service"] } });
    expect((await rejection(single)).description).toBe("the access token must name exactly one audience");
  });
});

describe("time claims, with a 5 s leeway", () => {
  it("refuses an expired token, and accepts one expiring within the leeway", async () => {
    await rejection(await mint({ claims: { exp: clock.sec - 6 } }));
    await expect(verifier().verify(await mint({ claims: { exp: clock.sec - 4 } }))).resolves.toBeDefined();
  });

  it("refuses nbf in the future beyond the leeway", async () => {
    const token = await mint({ claims: { nbf: clock.sec + 60 } });
    expect((await rejection(token)).description).toBe("the access token is not valid yet");
    await expect(verifier().verify(await mint({ claims: { nbf: clock.sec + 3 } }))).resolves.toBeDefined();
  });

  it("refuses iat in the future beyond the leeway", async () => {
    const token = await mint({ claims: { iat: clock.sec + 3600, exp: clock.sec + 3900 } });
    expect((await rejection(token)).description).toBe("the access token is issued in the future");
  });

  it.each([8.64e12, 1e308])("hardening #10: refuses a genuinely signed token whose exp is %d as invalid_token", async (exp) => {
    const error = await rejection(await mint({ claims: { exp } }));
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_token");
  });

  it("hardening #10: refuses a token that lives longer than maxLifetimeSec (exp - iat), by default a day", async () => {
    const lifetime = (seconds: number) => mint({ claims: { iat: clock.sec, exp: clock.sec + seconds } });
    await expect(verifier().verify(await lifetime(86_400))).resolves.toBeDefined();
    expect((await rejection(await lifetime(86_401))).description).toBe("the access token lives too long");
    await expect(verifier({ maxLifetimeSec: 600 }).verify(await lifetime(600))).resolves.toBeDefined();
    expect((await rejection(await lifetime(601), verifier({ maxLifetimeSec: 600 }))).description).toBe("the access token lives too long");
  });

  it.each([
    ["nbf", { nbf: -1e300 }],
    ["iat", { iat: -8.64e12 - 1 }],
    ["exp", { exp: 1e308 }],
  ])("hardening #10: refuses an %s claim no Date can hold", async (claim, claims) => {
    expect((await rejection(await mint({ claims }))).description).toBe(`the access token's ${claim} claim is out of range`);
  });

  it("uses the configured leeway", async () => {
    const token = await mint({ claims: { exp: clock.sec - 20 } });
    await expect(verifier({ clockToleranceSec: 30 }).verify(token)).resolves.toBeDefined();
    await rejection(token, verifier({ clockToleranceSec: 10 }));
  });
});

describe("required claims", () => {
  it.each(["sub", "client_id", "jti", "scope", "iat", "exp", "iss", "aud"])("refuses a token without %s", async (claim) => {
    const token = await mint({ claims: { [claim]: undefined } });
    expect((await rejection(token)).description).toBe(`the access token has no ${claim} claim`);
  });

  it("refuses claims of the wrong type", async () => {
    expect((await rejection(await mint({ claims: { scope: ["charge:customer"] } }))).description).toMatch(/scope claim is not/);
    expect((await rejection(await mint({ claims: { exp: String(clock.sec + 60) } }))).description).toMatch(/exp claim is not a NumericDate/);
    expect((await rejection(await mint({ claims: { client_id: "" } }))).description).toMatch(/client_id claim is not/);
  });
});

describe("malformed input", () => {
  it.each([
    ["an empty string", ""],
    ["two segments", "abc.def"],
    ["garbage", "not-a-jwt"],
    ["a JWE-shaped token", "a.b.c.d.e"],
    ["a header that is not JSON", "eyJub3Q.eyJ9.sig"],
  ])("refuses %s as malformed", async (_name, token) => {
    expect((await rejection(token)).description).toBe("the access token is malformed");
  });

  it("refuses a token over the size bound before parsing it", async () => {
    expect((await rejection("a".repeat(9000))).description).toBe("the access token is too large");
  });

  it("refuses a member name twice, in the header or the claims (RFC 7515 §5.2, RFC 7519 §4), though JSON.parse would keep the last", async () => {
    const header = (typ: string) => `{"alg":"RS256","kid":${JSON.stringify(issuer.key.kid)},${typ}}`;
    const claims = (aud: string) =>
      `{"iss":${JSON.stringify(issuer.issuer)},"sub":"order-service","client_id":"order-service",${aud},"scope":"charge:customer","iat":${clock.sec},"exp":${clock.sec + 300},"jti":"j"}`;
    // the control: the same texts without the second member verify
    await expect(verifier().verify(await issuer.signText(header('"typ":"at+jwt"'), claims('"aud":"payment-service"')))).resolves.toBeDefined();
    for (const token of [
      await issuer.signText(header('"typ":"JWT","typ":"at+jwt"'), claims('"aud":"payment-service"')),
      await issuer.signText(header('"typ":"at+jwt","alg":"RS256"'), claims('"aud":"payment-service"')),
      await issuer.signText(header('"typ":"at+jwt"'), claims('"aud":"other-service","aud":"payment-service"')),
      await issuer.signText(header('"typ":"at+jwt"'), claims('"aud":"payment-service","a\\u0075d":"x","x":{"y":1,"y":2}')),
      await issuer.signText(header('"typ":"at+jwt"'), claims('"aud":"payment-service","\\u0061ud":"payment-service"')),
    ]) {
      expect((await rejection(token)).description).toBe("the access token is malformed");
    }
  });

  it("refuses an RFC 7797 unencoded payload (b64 false), with or without crit", async () => {
    const claims = JSON.stringify({ iss: issuer.issuer, sub: "order-service", client_id: "order-service", aud: "payment-service", scope: "charge:customer", iat: clock.sec, exp: clock.sec + 300, jti: "j" });
    for (const extra of [{ b64: false, crit: ["b64"] }, { b64: false }, { b64: "false" }]) {
      const token = await issuer.signText(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid: issuer.key.kid, ...extra }), claims);
      expect((await rejection(token)).description, JSON.stringify(extra)).toBe("the access token is malformed");
    }
    // b64 true is what every JWS means without it (RFC 7797 §3)
    await expect(verifier().verify(await issuer.signText(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid: issuer.key.kid, b64: true }), claims))).resolves.toBeDefined();
  });

  it("refuses a non-string kid (kid injection) as malformed", async () => {
    const token = await mint({ header: { kid: { $ne: null } } });
    expect((await rejection(token)).description).toBe("the access token is malformed");
  });

  it("hardening #9: refuses a non-canonical base64url signature (RFC 7515 §2, RFC 4648 §3.5): one token, one spelling", async () => {
    const v = verifier({ cacheMaxEntries: 100 });
    const token = await mint();
    await v.verify(token);
    const [h, p, s] = token.split(".") as [string, string, string];
    const spellings = otherSpellings(s);
    expect(spellings.length).toBeGreaterThanOrEqual(31); // RS256: 15 other final characters, each with and without "=="
    for (const spelling of spellings) {
      expect((await rejection(`${h}.${p}.${spelling}`, v)).description, spelling).toBe("the access token is malformed");
    }
    expect(v.cacheSize).toBe(1);
  });

  it.each([
    ["header", 0],
    ["payload", 1],
  ] as const)("hardening #9: refuses a non-canonical base64url %s as malformed, before fetching any key", async (_part, index) => {
    const token = await mintWithUnevenPart(index);
    const fetches = issuer.hits.jwks;
    for (const spelling of otherSpellings(token.split(".")[index] as string)) {
      const parts = token.split(".");
      parts[index] = spelling;
      const v = verifier();
      expect((await rejection(parts.join("."), v)).description, spelling).toBe("the access token is malformed");
      expect(v.ready).toBe(false);
    }
    expect(issuer.hits.jwks).toBe(fetches);
  });

  it("never puts the token or a claim value in an error description", async () => {
    const token = await mint({ claims: { iss: "http://attacker.example/<script>" } });
    const error = await rejection(token);
    expect(error.description).not.toContain("attacker");
    expect(JSON.stringify(error.toJSON())).not.toContain(token.slice(0, 20));
  });
});

/** A token whose header (0) or payload (1) has a length of 2 mod 4, so its last character carries 4 unused bits. */
async function mintWithUnevenPart(index: 0 | 1): Promise<string> {
  for (let n = 0; ; n++) {
    const filler = { pad: "x".repeat(n) };
    const token = await mint(index === 0 ? { header: filler } : { claims: filler });
    if ((token.split(".")[index] as string).length % 4 === 2) return token;
  }
}

function claimsNow(): Record<string, unknown> {
  return {
    iss: issuer.issuer,
    sub: "order-service",
    client_id: "order-service",
    aud: "payment-service",
    scope: "charge:customer",
    iat: clock.sec,
    exp: clock.sec + 300,
    jti: "j1",
  };
}
