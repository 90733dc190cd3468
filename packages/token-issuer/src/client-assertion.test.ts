import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { ClientAssertionVerifier } from "./client-assertion.js";
import { InvalidClientError } from "./errors.js";
import { ClientRegistry } from "./registry.js";
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
});
