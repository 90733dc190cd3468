import { generateKeyPairSync } from "node:crypto";
import { decodeProtectedHeader, importJWK, exportJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { nodeTokenSigner } from "./node-token.js";

describe("the node:crypto token signer jose is weighed against", () => {
  it.each([
    ["RS256", () => generateKeyPairSync("rsa", { modulusLength: 2048 })],
    ["PS256", () => generateKeyPairSync("rsa", { modulusLength: 2048 })],
    ["ES256", () => generateKeyPairSync("ec", { namedCurve: "P-256" })],
    ["EdDSA", () => generateKeyPairSync("ed25519")],
  ] as const)("makes %s tokens that jose verifies", async (alg, keys) => {
    const { privateKey, publicKey } = keys();
    const claims = { iss: "http://issuer", sub: "c", client_id: "c", aud: "payment-service", scope: "charge:customer", iat: 1, exp: 2_000_000_000, jti: "j" };
    const token = nodeTokenSigner(alg, privateKey)(claims);
    const { payload } = await jwtVerify(token, await importJWK({ ...(await exportJWK(publicKey)), alg }, alg), { typ: "at+jwt", algorithms: [alg] });
    expect(payload).toEqual(claims);
    expect(decodeProtectedHeader(token)).toEqual({ alg, typ: "at+jwt", kid: "bench" });
  });
});
