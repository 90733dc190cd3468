import { createHash } from "node:crypto";
import { createDPoPVerifier } from "@m2m/token-verifier";
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { generateProofKey, proofMaker } from "./dpop-proofs.js";

describe("the DPoP proofs the load generator sends", () => {
  const htu = "http://127.0.0.1:4002/charge";

  it("pass token-verifier's proof checks, ath and key binding included, each once", async () => {
    const key = generateProofKey();
    const accessToken = "header.payload.signature";
    const make = proofMaker({ htm: "POST", htu, key: key.privateJwk, accessToken });
    const verifier = createDPoPVerifier({ mode: "allowed", publicUrl: "http://127.0.0.1:4002" });
    const request = { method: "POST", url: htu, accessToken, jkt: key.jkt };
    const proof = make();
    await expect(verifier.verify([proof], request)).resolves.toMatchObject({ jkt: key.jkt, alg: "ES256" });
    await expect(verifier.verify([make()], request)).resolves.toMatchObject({ jkt: key.jkt });
    // the same proof twice is a replay
    await expect(verifier.verify([proof], request)).rejects.toMatchObject({ reason: "jti was used before by this key" });
    expect(decodeJwt(proof)).toMatchObject({ htm: "POST", htu, ath: createHash("sha256").update(accessToken).digest("base64url") });
  });

  it("pass them with an RSA key too, as RS256 proofs", async () => {
    const key = generateProofKey("RS256");
    const accessToken = "header.payload.signature";
    const verifier = createDPoPVerifier({ mode: "allowed", publicUrl: "http://127.0.0.1:4002" });
    const proof = proofMaker({ htm: "POST", htu, key: key.privateJwk, accessToken })();
    expect(decodeProtectedHeader(proof)).toMatchObject({ alg: "RS256", jwk: { kty: "RSA" } });
    await expect(verifier.verify([proof], { method: "POST", url: htu, accessToken, jkt: key.jkt })).resolves.toMatchObject({ jkt: key.jkt, alg: "RS256" });
  });

  it.each(["ES256", "RS256"] as const)("names the %s key by its RFC 7638 thumbprint, as cnf.jkt does", async (alg) => {
    const key = generateProofKey(alg);
    const { jwk } = decodeProtectedHeader(proofMaker({ htm: "POST", htu, key: key.privateJwk })()) as { jwk: JWK };
    expect(await calculateJwkThumbprint(jwk, "sha256")).toBe(key.jkt);
    for (const member of ["d", "p", "q", "dp", "dq", "qi"]) expect(jwk).not.toHaveProperty(member);
  });

  it("without a key, signs with a new key every proofsPerKey proofs, and carries the nonce it is given", () => {
    const make = proofMaker({ htm: "POST", htu: "http://127.0.0.1:4000/token", proofsPerKey: 2, nonce: "n0nce" });
    const keys = Array.from({ length: 5 }, () => make()).map((p) => JSON.stringify(decodeProtectedHeader(p).jwk));
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toBe(keys[1]);
    expect(keys[1]).not.toBe(keys[2]);
    expect(decodeJwt(make())).toMatchObject({ nonce: "n0nce" });
  });

  it("gives every proof a new jti and iat now", () => {
    const make = proofMaker({ htm: "POST", htu }, () => 1_700_000_000_999);
    const [a, b] = [decodeJwt(make()), decodeJwt(make())];
    expect(a.jti).not.toBe(b.jti);
    expect(a.iat).toBe(1_700_000_000);
  });
});
