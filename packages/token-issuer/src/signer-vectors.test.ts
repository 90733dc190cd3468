// The issuer's signing path against examples and vectors nobody here wrote
// (src/vectors/, each folder with its licence and source):
//
// - RFC 7520 §4.1 (RS256) and RFC 8037 Appendix A.4/A.5 (EdDSA): those
//   algorithms are deterministic, so `signCompactJws`, with the example's key
//   loaded the way the auth server loads its keys (`SigningKeys` from a key
//   file), must give the example's token byte for byte.
// - ES256 and PS256 signatures are randomised: tokens minted with Wycheproof's
//   P-256 key and the RFC 7520 RSA key must verify under a verifier that is
//   not jose, node:crypto's `verify` (OpenSSL); and that verifier is first
//   held to Google's Wycheproof signature vectors for all four algorithms, so
//   its word counts.
import { constants, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { mintAccessToken, signCompactJws } from "./access-token.js";
import type { SigningAlgorithm } from "./key-files.js";
import { KeyFileError } from "./key-files.js";
import { SigningKeys } from "./signing-keys.js";

const vector = (...path: string[]) => JSON.parse(readFileSync(join(import.meta.dirname, "vectors", ...path), "utf8"));

interface CookbookExample {
  input: { payload: string; key: Record<string, unknown> };
  signing: { protected: Record<string, unknown> };
  output: { compact: string };
}
const rs256Example = vector("jose-cookbook", "4_1.rsa_v15_signature.json") as CookbookExample;
const ed25519Example = vector("jose-cookbook", "jws.json") as CookbookExample;
const pssExample = vector("jose-cookbook", "4_2.rsa-pss_signature.json") as CookbookExample;
const es256Example = vector("rfc7515", "a3.es256.json") as { key: Record<string, unknown>; compact: string };
const wycheproofEs256 = (vector("wycheproof", "json_web_signature_test.json") as { testGroups: Array<{ comment: string; private: Record<string, unknown> }> }).testGroups.find(
  (group) => group.comment === "es256",
)!.private;

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** The auth server's keys as it loads them: a key file in a key directory, read and imported by `SigningKeys`. */
async function issuerKeys(privateJwk: Record<string, unknown>, alg: SigningAlgorithm): Promise<SigningKeys> {
  const dir = mkdtempSync(join(tmpdir(), "token-issuer-vectors-"));
  dirs.push(dir);
  writeFileSync(join(dir, "example.json"), JSON.stringify({ ...privateJwk, alg, activates_at: 0 }), { mode: 0o600 });
  return SigningKeys.open({ path: dir, alg, tokenTtlSeconds: 300, manage: false, clock: Date.now });
}

const publicKeyOf = (privateJwk: Record<string, unknown>): KeyObject => createPublicKey(createPrivateKey({ key: privateJwk as never, format: "jwk" }));

/** RFC 7518 §3.3–3.5 and RFC 8037 §3.1, as OpenSSL does them: the independent verifier. */
function nodeVerify(alg: SigningAlgorithm, key: KeyObject, input: Uint8Array, signature: Uint8Array): boolean {
  try {
    switch (alg) {
      case "RS256":
        return verify("sha256", input, key, signature);
      case "PS256":
        return verify("sha256", input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
      case "ES256":
        return verify("sha256", input, { key, dsaEncoding: "ieee-p1363" }, signature);
      case "EdDSA":
        return verify(null, input, key, signature);
    }
  } catch {
    return false;
  }
}

function verifyCompact(alg: SigningAlgorithm, key: KeyObject, token: string): boolean {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  return nodeVerify(alg, key, Buffer.from(`${header}.${payload}`), Buffer.from(signature, "base64url"));
}

describe("signCompactJws with the example's key, as SigningKeys loads it: byte for byte", () => {
  it("RFC 7520 §4.1 (RS256): the example's compact serialization", async () => {
    const key = (await issuerKeys(rs256Example.input.key, "RS256")).current();
    const header = rs256Example.signing.protected as { alg: string };
    expect(await signCompactJws(header, new TextEncoder().encode(rs256Example.input.payload), key.signingKey)).toBe(rs256Example.output.compact);
    expect(verifyCompact("RS256", publicKeyOf(rs256Example.input.key), rs256Example.output.compact)).toBe(true);
  });

  it("RFC 8037 Appendix A.4/A.5 (EdDSA, Ed25519): the example's compact serialization", async () => {
    const key = (await issuerKeys(ed25519Example.input.key, "EdDSA")).current();
    const header = ed25519Example.signing.protected as { alg: string };
    expect(await signCompactJws(header, new TextEncoder().encode(ed25519Example.input.payload), key.signingKey)).toBe(ed25519Example.output.compact);
    expect(verifyCompact("EdDSA", publicKeyOf(ed25519Example.input.key), ed25519Example.output.compact)).toBe(true);
  });

  it("the RSA key used for PS256 below is RFC 7520 §4.2's: the example verifies under it", () => {
    const pss = pssExample.output.compact.split(".") as [string, string, string];
    // RFC 7520 §4.2 is PS384 with the same RSA key: it verifies with SHA-384 and salt 48 under that key
    expect(
      verify("sha384", Buffer.from(`${pss[0]}.${pss[1]}`), { key: publicKeyOf(pssExample.input.key), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 }, Buffer.from(pss[2], "base64url")),
    ).toBe(true);
  });
});

describe("access tokens minted with the examples' keys verify under node:crypto, not jose", () => {
  const cases: Array<[SigningAlgorithm, Record<string, unknown>]> = [
    ["RS256", rs256Example.input.key],
    ["PS256", pssExample.input.key],
    ["ES256", wycheproofEs256],
    ["EdDSA", ed25519Example.input.key],
  ];
  for (const [alg, privateJwk] of cases) {
    it(`${alg}`, async () => {
      const keys = await issuerKeys(privateJwk, alg);
      const now = Date.now();
      const minted = await mintAccessToken({ clientId: "c", audience: "api", scope: "a" }, { issuer: "https://as.example", ttlSeconds: 300, keys, clock: () => now });
      expect(verifyCompact(alg, publicKeyOf(privateJwk), minted.token)).toBe(true);
      const [header, payload, signature] = minted.token.split(".") as [string, string, string];
      expect(JSON.parse(Buffer.from(header, "base64url").toString())).toEqual({ alg, typ: "at+jwt", kid: keys.current().kid });
      expect(JSON.parse(Buffer.from(payload, "base64url").toString())).toEqual(minted.claims);
      // a changed byte does not verify: the judge is not a rubber stamp
      expect(verifyCompact(alg, publicKeyOf(privateJwk), `${header}.${payload}x.${signature}`)).toBe(false);
      if (alg === "RS256" || alg === "EdDSA") {
        // deterministic: OpenSSL, signing the same input with the same key, writes the same signature
        const privateKey = createPrivateKey({ key: privateJwk as never, format: "jwk" });
        expect(sign(alg === "RS256" ? "sha256" : null, Buffer.from(`${header}.${payload}`), privateKey).toString("base64url")).toBe(signature);
      }
    });
  }
});

describe("RFC 7515 Appendix A.3's P-256 key", () => {
  it("is a sound key: its example JWS verifies under it (OpenSSL)", () => {
    expect(verifyCompact("ES256", publicKeyOf(es256Example.key), es256Example.compact)).toBe(true);
  });

  it("either signs verifiable tokens, or is refused at load with a KeyFileError naming its file (Node 20's WebCrypto will not import it)", async () => {
    const loaded = await issuerKeys(es256Example.key, "ES256").then(
      (keys) => keys,
      (error: unknown) => error,
    );
    if (loaded instanceof SigningKeys) {
      const minted = await mintAccessToken({ clientId: "c", audience: "api", scope: "a" }, { issuer: "https://as.example", ttlSeconds: 300, keys: loaded, clock: Date.now });
      expect(verifyCompact("ES256", publicKeyOf(es256Example.key), minted.token)).toBe(true);
    } else {
      expect(loaded).toBeInstanceOf(KeyFileError);
      expect((loaded as KeyFileError).message).toMatch(/example\.json: the key cannot be imported for signing \(ES256\)$/);
    }
  });
});

interface SignatureVectors {
  numberOfTests: number;
  testGroups: Array<{ publicKeyDer: string; tests: Array<{ tcId: number; comment: string; msg: string; sig: string; result: "valid" | "invalid" | "acceptable" }> }>;
}

describe("the independent verifier holds to Google's Wycheproof signature vectors", () => {
  const files: Array<[SigningAlgorithm, string]> = [
    ["RS256", "rsa_signature_2048_sha256_test.json"],
    ["PS256", "rsa_pss_2048_sha256_mgf1_32_test.json"],
    ["ES256", "ecdsa_secp256r1_sha256_p1363_test.json"],
    ["EdDSA", "ed25519_test.json"],
  ];
  const counts: string[] = [];
  afterAll(() => console.log(`Wycheproof signature vectors through node:crypto verify: ${counts.join("; ")}; 0 skipped.`));

  for (const [alg, file] of files) {
    it(`${alg}: ${file}, every case`, () => {
      const suite = vector("wycheproof", file) as SignatureVectors;
      const wrong: string[] = [];
      let ran = 0;
      let acceptable = 0;
      for (const group of suite.testGroups) {
        const key = createPublicKey({ key: Buffer.from(group.publicKeyDer, "hex"), format: "der", type: "spki" });
        for (const test of group.tests) {
          ran += 1;
          const verified = nodeVerify(alg, key, Buffer.from(test.msg, "hex"), Buffer.from(test.sig, "hex"));
          if (test.result === "acceptable") acceptable += 1;
          else if (verified !== (test.result === "valid")) wrong.push(`${test.tcId} ${test.comment} (${test.result})`);
        }
      }
      counts.push(`${file} ${ran} ran (${acceptable} "acceptable", either answer allowed)`);
      expect(ran).toBe(suite.numberOfTests);
      expect(wrong).toEqual([]);
    });
  }
});
