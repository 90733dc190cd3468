import { generateKeyPairSync, sign as signBytes, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ClientAssertionVerifier } from "./client-assertion.js";
import { InvalidClientError, ServerError, TooManyRequestsError } from "./errors.js";
import { ClientRegistry } from "./registry.js";
import { ReplayQuotaError, type UsedIdentifiers } from "./used-identifiers.js";
import { parseRegistry } from "./registry-file.js";

const ISSUER = "https://as.example";
const TOKEN_ENDPOINT = `${ISSUER}/token`;
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const registry = new ClientRegistry(
  parseRegistry(
    {
      resource_servers: [{ id: "api", resources: ["https://api.example"], scopes: ["read"] }],
      clients: [
        {
          client_id: "signer",
          jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), alg: "ES256", kid: "k1" }] },
          scopes: ["read"],
          audiences: ["api"],
        },
      ],
    },
    "test",
  ),
);

function setup() {
  const clock = { now: Date.parse("2026-03-01T12:00:00Z") };
  const verifier = new ClientAssertionVerifier({ issuer: ISSUER, clock: () => clock.now });
  const sign = (
    claims: Record<string, unknown> = {},
    options: { alg?: string; key?: KeyObject | Uint8Array; kid?: string; lifetime?: number } = {},
  ) => {
    const iat = Math.floor(clock.now / 1000);
    return new SignJWT({ iss: "signer", sub: "signer", aud: ISSUER, jti: crypto.randomUUID(), iat, exp: iat + (options.lifetime ?? 60), ...claims })
      .setProtectedHeader({ alg: options.alg ?? "ES256", kid: options.kid ?? "k1" })
      .sign(options.key ?? privateKey);
  };
  return { clock, verifier, sign };
}

/** The reason of the refusal, for the log; the client is always told only that authentication failed. */
async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidClientError);
    expect((error as InvalidClientError).description).toBe("client authentication failed");
    return (error as InvalidClientError).reason;
  }
  throw new Error("expected invalid_client");
}

describe("ClientAssertionVerifier (RFC 7523 §3)", () => {
  it("accepts a fresh assertion whose aud is exactly the issuer identifier", async () => {
    const { verifier, sign } = setup();
    expect((await verifier.verify(await sign(), registry)).client.clientId).toBe("signer");
  });

  it("refuses an aud that is the token endpoint, or an array, even one holding the issuer (audience injection)", async () => {
    const { verifier, sign } = setup();
    expect(await refusal(verifier.verify(await sign({ aud: TOKEN_ENDPOINT }), registry))).toMatch(/aud/);
    expect(await refusal(verifier.verify(await sign({ aud: [ISSUER] }), registry))).toMatch(/not exactly the issuer/);
    expect(await refusal(verifier.verify(await sign({ aud: [ISSUER, "https://other.example"] }), registry))).toMatch(/not exactly the issuer/);
  });

  it("refuses a replayed jti within its lifetime", async () => {
    const { verifier, sign } = setup();
    const assertion = await sign();
    await verifier.verify(assertion, registry);
    expect(await refusal(verifier.verify(assertion, registry))).toMatch(/already used/);
  });

  it("refuses a wrong audience, an expired assertion, or one that lives too long", async () => {
    const { clock, verifier, sign } = setup();
    expect(await refusal(verifier.verify(await sign({ aud: "https://other.example" }), registry))).toMatch(/aud claim/);
    const expiring = await sign({}, { lifetime: 10 });
    clock.now += 60_000;
    expect(await refusal(verifier.verify(expiring, registry))).toMatch(/expired/);
    expect(await refusal(verifier.verify(await sign({}, { lifetime: 3600 }), registry))).toMatch(/too long/);
  });

  it("refuses iss ≠ sub and a missing jti, once the signature verified", async () => {
    const { verifier, sign } = setup();
    expect(await refusal(verifier.verify(await sign({ sub: "someone-else" }), registry))).toMatch(/sub claim/);
    expect(await refusal(verifier.verify(await sign({ jti: undefined }), registry))).toMatch(/jti/);
  });

  it("gives one reason, even in the log, for every refusal that needs no key: unknown client, wrong key, alg or kid, unsigned", async () => {
    const { verifier, sign } = setup();
    const publicPem = new TextEncoder().encode(publicKey.export({ format: "pem", type: "spki" }) as string);
    const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
    const payload = (await sign()).split(".")[1];
    const reasons = [
      await refusal(verifier.verify(await sign({}, { alg: "HS256", key: publicPem }), registry)),
      await refusal(verifier.verify(await sign({}, { kid: "k2" }), registry)),
      await refusal(verifier.verify(await sign({}, { key: other }), registry)),
      await refusal(verifier.verify(await sign({ iss: "nobody", sub: "nobody" }), registry)),
      await refusal(verifier.verify(`${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${payload}.`, registry)),
    ];
    expect(new Set(reasons)).toEqual(new Set(["the client assertion does not verify with a key registered for its client"]));
    expect(await refusal(verifier.verify("not-a-jwt", registry))).toMatch(/readable JWT/);
  });

  it("refuses a member name twice in the header or the claims (RFC 7515 §5.2, RFC 7519 §4), though jose would keep the last", async () => {
    const { clock, verifier } = setup();
    const iat = Math.floor(clock.now / 1000);
    const signText = (header: string, claims: string) => {
      const input = `${Buffer.from(header).toString("base64url")}.${Buffer.from(claims).toString("base64url")}`;
      return `${input}.${signBytes("sha256", Buffer.from(input), { key: privateKey, dsaEncoding: "ieee-p1363" }).toString("base64url")}`;
    };
    const claims = (extra: string) => `{"iss":"signer","sub":"signer","aud":"${ISSUER}","iat":${iat},"exp":${iat + 60},"jti":"${crypto.randomUUID()}"${extra}}`;
    // the control: the same texts, each name once, authenticate
    await expect(verifier.verify(signText('{"alg":"ES256","kid":"k1"}', claims("")), registry)).resolves.toBeDefined();
    for (const [header, extra] of [
      ['{"alg":"ES256","kid":"k1","kid":"k1"}', ""],
      ['{"alg":"none","alg":"ES256","kid":"k1"}', ""],
      ['{"alg":"ES256","kid":"k1"}', ',"sub":"signer"'],
      ['{"alg":"ES256","kid":"k1"}', ',"aud":"https://evil.example","\\u0061ud":"https://as.example"'],
    ] as const) {
      expect(await refusal(verifier.verify(signText(header, claims(extra)), registry))).toMatch(/names a member twice/);
    }
  });

  it("reads the claimed client id from iss, and nothing from what is not a JWT with a string iss", async () => {
    const { verifier, sign } = setup();
    expect(verifier.claimedClientId(await sign())).toBe("signer");
    expect(verifier.claimedClientId(await sign({ iss: 42 }))).toBeUndefined();
    expect(verifier.claimedClientId("a.b.c")).toBeUndefined();
    expect(await refusal(verifier.verify(await sign({ iss: 42 }), registry))).toBe("the client assertion is not a readable JWT with an iss claim");
  });

  it("says the one reason for a client that is unknown, disabled or has no keys", async () => {
    const { verifier, sign } = setup();
    const others = new ClientRegistry(
      parseRegistry(
        {
          resource_servers: [{ id: "api", resources: ["https://api.example"], scopes: ["read"] }],
          clients: [
            { client_id: "signer", jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), alg: "ES256", kid: "k1" }] }, scopes: ["read"], audiences: ["api"], disabled: true },
            { client_id: "secret-only", client_secret_hash: "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk", scopes: ["read"], audiences: ["api"] },
          ],
        },
        "test",
      ),
    );
    const reason = "the client assertion does not verify with a key registered for its client";
    expect(await refusal(verifier.verify(await sign(), others))).toBe(reason);
    expect(await refusal(verifier.verify(await sign({ iss: "secret-only", sub: "secret-only" }), others))).toBe(reason);
  });

  it("takes a header without kid, and returns the key that verified", async () => {
    const { verifier, sign } = setup();
    const signed = await new SignJWT({ iss: "signer", sub: "signer", aud: ISSUER, jti: crypto.randomUUID(), exp: Math.floor(Date.parse("2026-03-01T12:00:00Z") / 1000) + 60 })
      .setProtectedHeader({ alg: "ES256" })
      .sign(privateKey);
    const { client, key } = await verifier.verify(signed, registry);
    expect(client.clientId).toBe("signer");
    expect(key.kid).toBe("k1");
    expect((await verifier.verify(await sign(), registry)).key.alg).toBe("ES256");
  });

  it("draws the lifetime and iat lines where it says: exp up to 300 s ahead and iat up to 30 s ahead, leeway included", async () => {
    const { clock, verifier, sign } = setup();
    const now = Math.floor(clock.now / 1000);
    await expect(verifier.verify(await sign({ exp: now + 330 }), registry)).resolves.toBeDefined();
    expect(await refusal(verifier.verify(await sign({ exp: now + 331 }), registry))).toBe("the client assertion lives too long (exp at most 300 s ahead)");
    await expect(verifier.verify(await sign({ iat: now + 30 }), registry)).resolves.toBeDefined();
    expect(await refusal(verifier.verify(await sign({ iat: now + 31 }), registry))).toBe("the client assertion was issued in the future");
    await expect(verifier.verify(await sign({ iat: undefined }), registry)).resolves.toBeDefined();
    const strict = new ClientAssertionVerifier({ issuer: ISSUER, clock: () => clock.now, maxLifetimeSeconds: 60, leewaySeconds: 0 });
    await expect(strict.verify(await sign({ exp: now + 60 }), registry)).resolves.toBeDefined();
    expect(await refusal(strict.verify(await sign({ exp: now + 61 }), registry))).toBe("the client assertion lives too long (exp at most 60 s ahead)");
  });

  it("gives the jose reason for a claim once the signature verified: expired, wrong, or missing and malformed", async () => {
    const { clock, verifier, sign } = setup();
    const now = Math.floor(clock.now / 1000);
    expect(await refusal(verifier.verify(await sign({ exp: now - 60 }), registry))).toBe("the client assertion has expired");
    expect(await refusal(verifier.verify(await sign({ sub: "other" }), registry))).toBe("the client assertion's sub claim is wrong");
    expect(await refusal(verifier.verify(await sign({ exp: undefined }), registry))).toBe("the client assertion's exp claim is missing or malformed");
    expect(await refusal(verifier.verify(await sign({ jti: "" }), registry))).toBe("the client assertion needs a jti");
    expect(await refusal(verifier.verify(await sign({ jti: 7 }), registry))).toBe("the client assertion needs a jti");
  });

  it("answers 429 when the client holds its whole share of used ids, and 503 when the store fails otherwise", async () => {
    const { clock, sign } = setup();
    const failing = (error: Error): UsedIdentifiers => ({ use: () => Promise.reject(error) });
    const quota = new ClientAssertionVerifier({ issuer: ISSUER, clock: () => clock.now, usedIdentifiers: failing(new ReplayQuotaError("full")) });
    const quotaError = await quota.verify(await sign(), registry).catch((error: unknown) => error);
    expect(quotaError).toBeInstanceOf(TooManyRequestsError);
    expect(quotaError).toMatchObject({ status: 429, retryAfterSeconds: 300, description: "too many client assertions from this client in flight; retry shortly" });
    const broken = new ClientAssertionVerifier({ issuer: ISSUER, clock: () => clock.now, usedIdentifiers: failing(new Error("disk")) });
    const brokenError = await broken.verify(await sign(), registry).catch((error: unknown) => error);
    expect(brokenError).toBeInstanceOf(ServerError);
    expect(brokenError).toMatchObject({ status: 503, description: "too many client assertions in flight; retry shortly" });
  });

  it("remembers a jti until exp plus the leeway, for the client that used it", async () => {
    const { clock, sign } = setup();
    const calls: unknown[][] = [];
    const recording: UsedIdentifiers = { use: async (...args) => (calls.push(args), true) };
    const verifier = new ClientAssertionVerifier({ issuer: ISSUER, clock: () => clock.now, usedIdentifiers: recording });
    const now = Math.floor(clock.now / 1000);
    await verifier.verify(await sign({ jti: "j-1", exp: now + 60 }), registry);
    expect(calls).toEqual([["signer", "j-1", (now + 60 + 30) * 1000, clock.now]]);
  });

  it("picks the registered key by alg and kid, and a key registered without kid for any kid", async () => {
    const { clock } = setup();
    const ed = generateKeyPairSync("ed25519");
    const two = new ClientRegistry(
      parseRegistry(
        {
          resource_servers: [{ id: "api", resources: ["https://api.example"], scopes: ["read"] }],
          clients: [
            {
              client_id: "signer",
              // the same kid for two keys of two algorithms: the header's alg tells them apart
              jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), alg: "ES256", kid: "k1" }, { ...ed.publicKey.export({ format: "jwk" }), alg: "EdDSA", kid: "k1" }] },
              scopes: ["read"],
              audiences: ["api"],
            },
            { client_id: "kidless", jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), alg: "ES256" }] }, scopes: ["read"], audiences: ["api"] },
          ],
        },
        "test",
      ),
    );
    const verifier = new ClientAssertionVerifier({ issuer: ISSUER, clock: () => clock.now });
    const iat = Math.floor(clock.now / 1000);
    const assertion = (iss: string, alg: string, kid: string | undefined, key: KeyObject) =>
      new SignJWT({ iss, sub: iss, aud: ISSUER, jti: crypto.randomUUID(), iat, exp: iat + 60 }).setProtectedHeader(kid === undefined ? { alg } : { alg, kid }).sign(key);
    expect((await verifier.verify(await assertion("signer", "EdDSA", "k1", ed.privateKey), two)).key.alg).toBe("EdDSA");
    expect((await verifier.verify(await assertion("signer", "ES256", "k1", privateKey), two)).key.alg).toBe("ES256");
    expect((await verifier.verify(await assertion("kidless", "ES256", "any-kid", privateKey), two)).key.kid).toBeUndefined();
  });
});
