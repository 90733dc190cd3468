import { createPublicKey, randomUUID } from "node:crypto";
import { decodeProtectedHeader, type JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken } from "../support.js";
import { forge, goodClaims, hmacSigner, readIssuerKey, signerFor, type IssuerKey } from "./forge.js";
import { expectInvalidToken, postJson, send, startIssuerAndResource } from "./harness.js";

// The same attacks where they differ by key type: the auth server configured
// for ES256 and for EdDSA (SIGNING_ALG), payment-service verifying. The
// "psychic signature" (CVE-2022-21449: an ECDSA signature of r = s = 0 that
// some verifiers accepted for any message) and its EdDSA cousin, an all-zero
// signature; HMAC keyed with an EC or OKP public key; one key used under
// another curve's algorithm.
for (const alg of ["ES256", "EdDSA"] as const) {
  describe(`with ${alg} signing keys`, () => {
    let pair: Awaited<ReturnType<typeof startIssuerAndResource>>;
    let key: IssuerKey;
    let publicJwk: JWK;
    beforeAll(async () => {
      pair = await startIssuerAndResource({ SIGNING_ALG: alg });
      const token = await accessToken(pair.urls.auth, "order-service", "super-secret", "charge:customer");
      const kid = decodeProtectedHeader(token).kid!;
      key = readIssuerKey(pair.authDataDir, kid);
      publicJwk = ((await send(`${pair.urls.auth}/.well-known/jwks.json`)).body as { keys: JWK[] }).keys.find((k) => k.kid === kid)!;
    });
    afterAll(async () => {
      await pair?.stop();
    });

    const header = (overrides: Record<string, unknown> = {}) => ({ alg, typ: "at+jwt", kid: key.kid, ...overrides });
    const charge = (token: string) =>
      postJson(
        `${pair.urls.payment}/charge`,
        { orderId: `ord_attack_${randomUUID()}`, customerId: "cus_attack", amount: 1299, currency: "EUR" },
        { authorization: `Bearer ${token}`, "idempotency-key": randomUUID() },
      );

    it("control: charges with a token signed here with the issuer's key", async () => {
      expect(key.alg).toBe(alg);
      expect((await charge(forge(header(), goodClaims(pair.urls.auth), key.signer))).status).toBe(201);
    });

    it("refuses an all-zero signature: ECDSA r = s = 0, the psychic signature (CVE-2022-21449), and its EdDSA cousin", async () => {
      for (const length of [64, 0, 1, 128]) {
        expectInvalidToken(await charge(forge(header(), goodClaims(pair.urls.auth), () => Buffer.alloc(length))), `${length} zero bytes`);
      }
      if (alg === "ES256") {
        // r and s at the group order n, or one of them zero: each verifies nothing (RFC 7518 §3.4, SEC 1 §4.1.4)
        const n = Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex");
        for (const [what, r, s] of [["r = s = n", n, n], ["r = 0, s = n", Buffer.alloc(32), n], ["r = n, s = 0", n, Buffer.alloc(32)]] as const) {
          expectInvalidToken(await charge(forge(header(), goodClaims(pair.urls.auth), () => Buffer.concat([r, s]))), what);
        }
      }
    });

    it("refuses a DER-encoded or truncated signature where the raw form is required", async () => {
      if (alg === "ES256") {
        const der = forge(header(), goodClaims(pair.urls.auth), (input) => signerFor("RS256", key.privateKey)(input));
        expectInvalidToken(await charge(der), "DER ECDSA signature");
      }
      const full = forge(header(), goodClaims(pair.urls.auth), key.signer);
      const [h, p, s] = full.split(".");
      const bytes = Buffer.from(s!, "base64url");
      expectInvalidToken(await charge(`${h}.${p}.${bytes.subarray(0, 32).toString("base64url")}`), "half a signature");
      expectInvalidToken(await charge(`${h}.${p}.${Buffer.concat([bytes, Buffer.alloc(1)]).toString("base64url")}`), "a signature with a byte more");
    });

    it("refuses HMAC keyed with the public key (key confusion, CVE-2015-9235, RFC 8725 §3.1), and the key under another algorithm", async () => {
      const publicKey = createPublicKey({ key: publicJwk as never, format: "jwk" });
      for (const secret of [publicKey.export({ type: "spki", format: "pem" }).toString(), JSON.stringify(publicJwk)]) {
        expectInvalidToken(await charge(forge(header({ alg: "HS256" }), goodClaims(pair.urls.auth), hmacSigner(secret))), "HS256");
      }
      for (const other of ["ES256", "ES384", "EdDSA", "Ed25519", "RS256"].filter((a) => a !== alg)) {
        expectInvalidToken(await charge(forge(header({ alg: other }), goodClaims(pair.urls.auth), key.signer)), `${alg} key as ${other}`);
      }
    });

    it("charged nothing for any attack", async () => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const charged = pair.logs.filter((l) => l.service === "payment-service" && l.msg === "charge.created");
      expect(charged).toHaveLength(1);
    });
  });
}
