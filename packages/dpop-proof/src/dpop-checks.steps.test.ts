// checkProof check by check (RFC 9449 §4.3): each refusal with its own
// reason, and each bound on the side where a proof is still accepted. The
// proofs are signed from exact JSON texts, so a header or claims set can be
// anything, valid JSON or not.
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { checkProof, NonceNeeded, ProofCheckFailed } from "./dpop-checks.js";
import { DPoPNonces } from "./dpop-nonce.js";
import { expectations, testProofKey } from "./testing/proof-key.js";

// in the past: a check that used the machine's clock instead of `now` would judge `exp` otherwise
const NOW = Date.UTC(2020, 0, 1, 12);
const HTU = "https://payments.example/charge";
const expected = expectations({ algorithms: new Set(["ES256", "EdDSA"]), uri: HTU, now: NOW });

const key = await testProofKey();
const { jwk, jkt } = key;

const claims = (extra: Record<string, unknown> = {}) => ({ jti: "a-proof", htm: "POST", htu: HTU, iat: NOW / 1000, ...extra });
const header = (extra: Record<string, unknown> = {}) => ({ typ: "dpop+jwt", alg: "ES256", jwk, ...extra });
const text = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
/** ES256 signature length in base64url. */
const SIGNATURE_LENGTH = 86;

/** A compact JWS of these JSON texts (or values), signed with the test's ES256 key whatever the header says. */
function signed(headerJson: unknown = header(), claimsJson: unknown = claims()): Promise<string> {
  return key.sign(text(headerJson), text(claimsJson));
}

/** The reason checkProof gives for refusing, or "accepted". */
async function reason(fields: readonly string[] | string, expectations = expected()): Promise<string> {
  try {
    await checkProof(typeof fields === "string" ? [fields] : fields, expectations);
    return "accepted";
  } catch (error) {
    if (error instanceof ProofCheckFailed) return error.reason;
    if (error instanceof NonceNeeded) return "nonce needed";
    throw error;
  }
}

describe("checkProof, check by check", () => {
  it("returns the proof's alg, key thumbprint, jti, iat and claims", async () => {
    const result = await checkProof([await signed(header(), claims({ ath: "x" }))], expected());
    expect(result).toEqual({ alg: "ES256", jkt, jti: "a-proof", iat: NOW / 1000, claims: claims({ ath: "x" }) });
  });

  it("1: exactly one DPoP header field", async () => {
    const proof = await signed();
    expect(await reason([])).toBe("no DPoP header");
    expect(await reason([proof, proof])).toBe("more than one DPoP header");
    expect(await reason([proof])).toBe("accepted");
  });

  it("2: a proof of 4096 characters is taken, one of 4097 refused before it is parsed", async () => {
    // a proof's length with `pad` members of h characters in its header and n in its claims, without signing it
    const proofHeader = (h: number) => header({ pad: "h".repeat(h) });
    const lengthWith = (h: number, n: number) =>
      base64url.encode(JSON.stringify(proofHeader(h))).length + 1 + base64url.encode(JSON.stringify(claims({ pad: "x".repeat(n) }))).length + 1 + SIGNATURE_LENGTH;
    const [exact, over] = await Promise.all(
      [4096, 4097].map((target) => {
        // base64url lengths skip one value in four: the header's pad moves the rest by a character
        for (const h of [1, 2, 3]) {
          for (let n = 0; lengthWith(h, n) <= target; n++) if (lengthWith(h, n) === target) return signed(proofHeader(h), claims({ pad: "x".repeat(n) }));
        }
        throw new Error(`no pad makes ${target}`);
      }),
    );
    expect([exact!.length, over!.length]).toEqual([4096, 4097]);
    expect(await reason(exact!)).toBe("accepted");
    expect(await reason(over!)).toBe("the proof is too large");
  });

  it("2: a compact JWS and nothing around it", async () => {
    const proof = await signed();
    const [head, payload, signature] = proof.split(".");
    for (const variant of [` ${proof}`, `${proof}\n`, `${proof}=`, `${head}=.${payload}.${signature}`, `${proof}.`, `${head}.${payload}`, `${head}..${signature}`, `${head}.${payload}+.${signature}`]) {
      expect(await reason(variant), JSON.stringify(variant)).toBe("the proof is not a compact JWS");
    }
  });

  it("2: a header that is not a JSON object", async () => {
    expect(await reason(await signed("not json"))).toBe("the proof's header is not a JSON object");
  });

  it("4: typ exactly dpop+jwt", async () => {
    for (const typ of ["JWT", "DPoP+JWT", "application/dpop+jwt", undefined]) {
      expect(await reason(await signed(header({ typ }))), String(typ)).toBe("typ is not dpop+jwt");
    }
  });

  it("5: an alg of the allow-list", async () => {
    for (const alg of ["ES384", "RS256", "none", "HS256", 7, null]) {
      expect(await reason(await signed(header({ alg }))), String(alg)).toBe("alg is not an allowed asymmetric algorithm");
    }
  });

  it("6: exp and nbf, when a proof has them, are judged at `now`", async () => {
    expect(await reason(await signed(header(), claims({ exp: NOW / 1000 + 60 })))).toBe("accepted");
    expect(await reason(await signed(header(), claims({ exp: NOW / 1000 - 1 })))).toBe("the exp claim is not acceptable");
    expect(await reason(await signed(header(), claims({ nbf: NOW / 1000 + 60 })))).toBe("the nbf claim is not acceptable");
  });

  it("7: a jwk that is an object", async () => {
    for (const value of [undefined, null, [jwk], "a key", 1]) {
      expect(await reason(await signed(header({ jwk: value }))), JSON.stringify(value)).toBe("no jwk in the header");
    }
  });

  it.each(["d", "p", "q", "dp", "dq", "qi", "oth", "k"])("7: refuses a jwk with the private or symmetric member %s", async (member) => {
    expect(await reason(await signed(header({ jwk: { ...jwk, [member]: "AAAA" } })))).toBe("the jwk holds private or symmetric key material");
  });

  it("7: a jwk's own alg and use, when it has them, must be this alg and sig", async () => {
    expect(await reason(await signed(header({ jwk: { ...jwk, alg: "ES256", use: "sig" } })))).toBe("accepted");
    expect(await reason(await signed(header({ jwk: { ...jwk, alg: "ES384" } })))).toBe("the jwk is for another alg");
    expect(await reason(await signed(header({ jwk: { ...jwk, use: "enc" } })))).toBe("the jwk is not for signatures");
  });

  it("3: jti, a non-empty string of 256 characters at most", async () => {
    expect(await reason(await signed(header(), claims({ jti: "j".repeat(256) })))).toBe("accepted");
    for (const jti of ["j".repeat(257), "", 7, undefined]) {
      expect(await reason(await signed(header(), claims({ jti }))), String(jti).slice(0, 10)).toBe("jti is missing or not a short string");
    }
  });

  it("3: htm and htu, strings", async () => {
    for (const htm of [undefined, 1, ["POST"]]) expect(await reason(await signed(header(), claims({ htm })))).toBe("htm is missing");
    for (const htu of [undefined, 1, [HTU]]) expect(await reason(await signed(header(), claims({ htu })))).toBe("htu is missing");
  });

  it("3: iat, a finite number", async () => {
    expect(await reason(await signed(header(), claims({ iat: undefined })))).toBe("iat is missing or not a NumericDate");
    // JSON has no Infinity, but 1e999 parses to it
    const infinite = JSON.stringify(claims({ iat: 0 })).replace('"iat":0', '"iat":1e999');
    expect(await reason(await signed(header(), infinite))).toBe("iat is missing or not a NumericDate");
  });

  it("8: htm is the request's method, exactly", async () => {
    expect(await reason(await signed(header(), claims({ htm: "post" })))).toBe("htm does not match the request method");
    expect(await reason(await signed(header(), claims({ htm: "GET" })))).toBe("htm does not match the request method");
  });

  it("9: htu is the request's URI, after normalisation; an htu that is no http(s) URI matches nothing, not even itself", async () => {
    expect(await reason(await signed(header(), claims({ htu: "HTTPS://Payments.example:443/charge?x=1" })))).toBe("accepted");
    expect(await reason(await signed(header(), claims({ htu: "https://payments.example/refund" })))).toBe("htu does not match the request URI");
    expect(await reason(await signed(header(), claims({ htu: "urn:x" })), expected({ uri: "urn:x" }))).toBe("htu does not match the request URI");
  });

  it("10: with nonces, a current one is needed, and NonceNeeded carries it", async () => {
    const nonces = new DPoPNonces({ secret: "a secret of 32 bytes, more or less", clock: () => NOW });
    const withNonces = expected({ nonces });
    expect(await reason(await signed(header(), claims({ nonce: nonces.current() })), withNonces)).toBe("accepted");
    for (const nonce of [undefined, 7, "", "A".repeat(43)]) {
      const error = await checkProof([await signed(header(), claims({ nonce }))], withNonces).catch((thrown: unknown) => thrown);
      expect(error, String(nonce)).toBeInstanceOf(NonceNeeded);
      expect(error).toMatchObject({ nonce: nonces.current(), message: "a current server nonce is required" });
    }
    // without nonces, a proof's nonce claim is not looked at
    expect(await reason(await signed(header(), claims({ nonce: "whatever" })))).toBe("accepted");
  });

  it("11: iat from maxAgeSeconds ago to leewaySeconds ahead, bounds included", async () => {
    const now = NOW / 1000;
    expect(await reason(await signed(header(), claims({ iat: now + 5 })))).toBe("accepted");
    expect(await reason(await signed(header(), claims({ iat: now + 6 })))).toBe("iat is in the future");
    expect(await reason(await signed(header(), claims({ iat: now - 30 })))).toBe("accepted");
    expect(await reason(await signed(header(), claims({ iat: now - 31 })))).toBe("iat is too old");
  });

  it("a refusal's message is its reason", () => {
    expect(new ProofCheckFailed("htm is missing").message).toBe("htm is missing");
  });
});
