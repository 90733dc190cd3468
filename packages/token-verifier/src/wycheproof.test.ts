// Google's Wycheproof JWS and JWK vectors (src/vectors/wycheproof/, with
// their licence and source), every case, through the code a token takes.
//
// A Wycheproof payload is not an access token ("foo", no claims), so the
// cases run through `verifyCompactJws` (src/jws.ts), the signature-and-header
// path that `createVerifier` calls before it reads any claim: canonical
// base64url, the protected header, the algorithm allow-list, the key from a
// JWK Set built by `buildKeySet` (src/key-set.ts, what the verifier builds
// from every JWK Set it fetches), and the signature. The key set holds the
// case's public key and nothing else; the allow-list is the verifier's
// default.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ASYMMETRIC_ALGORITHMS, checkAlgorithms } from "./algorithms.js";
import { InvalidTokenError } from "./errors.js";
import { KeySourceError } from "./fetch-json.js";
import { verifyCompactJws } from "./jws.js";
import { buildKeySet, hasRocaFingerprint, type KeySet } from "./key-set.js";

interface Case {
  tcId: number;
  comment: string;
  result: "valid" | "invalid" | "acceptable";
  flags?: string[];
  jws: string | Record<string, unknown>;
}
interface Group {
  comment: string;
  public?: Record<string, unknown> | { keys: Record<string, unknown>[] };
  private?: Record<string, unknown> | { keys: Record<string, unknown>[] };
  tests: Case[];
}
const vectors = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, "vectors", "wycheproof", name), "utf8")) as { numberOfTests: number; testGroups: Group[] };

const ALLOWED = checkAlgorithms(ASYMMETRIC_ALGORITHMS);
const NOT_ACCEPTED = "the access token's algorithm is not accepted";
const MALFORMED = "the access token is malformed";

/**
 * Cases where this project and Wycheproof's label part ways, by tcId, with
 * why. Each is still run: the test checks that we do what we say here.
 */
const JWS_DISAGREEMENTS: Record<number, string> = {
  346:
    "labelled valid: RFC 7520 Figure 20 is signed PS384, but the group's key says alg PS256. A JWK Set entry's alg fixes the one algorithm its key verifies (RFC 8725 §3.1; jose's key selection): refused, no key matches.",
  350: "the same PS384 token under the same PS256 key, with key_ops [\"verify\"]: refused for the same reason.",
  347:
    "labelled valid: RFC 7520 Figure 27 is signed ES512, but the group's key says alg \"ES521\", a name no registry has. The key's alg does not match the token's: refused, no key matches.",
  351: "the same ES512 token under the same \"ES521\" key, with key_ops [\"verify\"]: refused for the same reason.",
};

/** What the case's header says `alg` is, read leniently (the way an attacker hopes the verifier reads it). */
function headerAlg(jws: string): unknown {
  try {
    return (JSON.parse(Buffer.from(jws.split(".")[0]!, "base64url").toString()) as { alg?: unknown }).alg;
  } catch {
    return undefined;
  }
}

/**
 * RFC 7515 §7.1 compact serialization in the one spelling RFC 7515 §2 allows:
 * three parts, a header, each part base64url without padding and with zero
 * unused bits (what a round trip through Node's codec leaves unchanged).
 */
function isCanonicalCompact(jws: string): boolean {
  const parts = jws.split(".");
  return parts.length === 3 && parts[0] !== "" && parts.every((part) => Buffer.from(part, "base64url").toString("base64url") === part);
}

type Outcome = { accepted: true; payload: Uint8Array } | { accepted: false; error: unknown };

async function run(jws: string, keys: KeySet): Promise<Outcome> {
  try {
    const { payload } = await verifyCompactJws(jws, (header) => keys.select(header), ALLOWED);
    return { accepted: true, payload };
  } catch (error) {
    return { accepted: false, error };
  }
}

function keySetOf(jwks: { keys: Record<string, unknown>[] }): KeySet | KeySourceError {
  try {
    return buildKeySet(jwks, "wycheproof");
  } catch (error) {
    if (error instanceof KeySourceError) return error;
    throw error;
  }
}

const tally = { jws: { ran: 0, accepted: 0, refused: 0, disagreements: 0 }, jwk: { ran: 0, accepted: 0, refused: 0 } };

afterAll(() => {
  const { jws, jwk } = tally;
  console.log(
    `Wycheproof json_web_signature_test.json: ${jws.ran} cases ran (${jws.accepted} accepted, ${jws.refused} refused), 0 skipped; ` +
      `${jws.disagreements} disagree with their label, each listed in JWS_DISAGREEMENTS with the reason.\n` +
      `Wycheproof json_web_key_test.json: ${jwk.ran} cases ran (${jwk.accepted} accepted, ${jwk.refused} refused), 0 skipped.`,
  );
});

describe("Wycheproof json_web_signature_test.json, through verifyCompactJws with the case's public key as the only key", () => {
  const suite = vectors("json_web_signature_test.json");
  // groups that carry only a private (HMAC) key: a verifier never holds one (buildKeySet drops symmetric keys),
  // so their JWS go against a key set of Wycheproof's own ES256 key, and must be refused before any key is asked for
  const es256 = suite.testGroups.find((group) => group.comment === "es256")!.public as Record<string, unknown>;

  it("has as many cases as it says", () => {
    expect(suite.testGroups.reduce((sum, group) => sum + group.tests.length, 0)).toBe(suite.numberOfTests);
  });

  for (const group of suite.testGroups) {
    const publicKey = group.public as Record<string, unknown> | undefined;
    describe(`group ${group.comment}${publicKey ? ` (key alg ${String(publicKey.alg)}, kid ${String(publicKey.kid)})` : " (no public key)"}`, () => {
      if (!publicKey) {
        it("its private key is not one a verifier will hold", () => {
          expect(keySetOf({ keys: [group.private as Record<string, unknown>] })).toBeInstanceOf(KeySourceError);
        });
      }

      it.each(group.tests.map((test) => [`${test.tcId} ${test.comment} (${test.result})`, test] as const))("%s", async (_name, test) => {
        tally.jws.ran += 1;
        const jws = typeof test.jws === "string" ? test.jws : JSON.stringify(test.jws);
        const keys = keySetOf({ keys: [publicKey ?? es256] });
        const outcome: Outcome = keys instanceof KeySourceError ? { accepted: false, error: keys } : await run(jws, keys);
        tally.jws[outcome.accepted ? "accepted" : "refused"] += 1;
        // whatever the case, a refusal is a refusal of the token, never a server fault
        if (!outcome.accepted) expect(outcome.error instanceof InvalidTokenError || outcome.error instanceof KeySourceError, String(outcome.error)).toBe(true);

        const alg = headerAlg(jws);
        if (test.tcId in JWS_DISAGREEMENTS) {
          tally.jws.disagreements += 1;
          expect(outcome.accepted).toBe(false);
          expect((outcome as { error: InvalidTokenError }).error.description).toBe("no key of the issuer matches the access token's kid and alg");
        } else if (typeof alg === "string" && !ALLOWED.includes(alg)) {
          // none, HS256 …: refused for the algorithm, unless the token is not even a compact JWS in its one spelling
          expect(outcome.accepted).toBe(false);
          expect((outcome as { error: InvalidTokenError }).error.description).toBe(isCanonicalCompact(jws) ? NOT_ACCEPTED : MALFORMED);
        } else if (test.result === "valid") {
          expect(outcome.accepted, String((outcome as { error?: unknown }).error)).toBe(true);
          expect(Buffer.from((outcome as { payload: Uint8Array }).payload).toString("base64url")).toBe(jws.split(".")[1]);
        } else if (test.result === "invalid") {
          expect(outcome.accepted).toBe(false);
        }
      });
    });
  }
});

describe("Wycheproof json_web_key_test.json, each key set through buildKeySet, then its JWS through verifyCompactJws", () => {
  const suite = vectors("json_web_key_test.json");

  it("has as many cases as it says", () => {
    expect(suite.testGroups.reduce((sum, group) => sum + group.tests.length, 0)).toBe(suite.numberOfTests);
  });

  for (const group of suite.testGroups) {
    const jwks = (group.public ?? group.private) as { keys: Record<string, unknown>[] };
    it.each(group.tests.map((test) => [`${group.comment} ${test.tcId} ${test.comment} (${test.result})`, test] as const))("%s", async (_name, test) => {
      tally.jwk.ran += 1;
      const jws = test.jws as string;
      const keys = keySetOf(jwks);
      const outcome: Outcome = keys instanceof KeySourceError ? { accepted: false, error: keys } : await run(jws, keys);
      tally.jwk[outcome.accepted ? "accepted" : "refused"] += 1;
      if (!outcome.accepted) expect(outcome.error instanceof InvalidTokenError || outcome.error instanceof KeySourceError, String(outcome.error)).toBe(true);
      const alg = headerAlg(jws);
      if (typeof alg === "string" && !ALLOWED.includes(alg)) {
        // HMAC cases: the symmetric keys are dropped when the set is built (a set of nothing else is refused), or the alg is
        expect(outcome.accepted).toBe(false);
        if (!(keys instanceof KeySourceError)) expect((outcome as { error: InvalidTokenError }).error.description).toBe(NOT_ACCEPTED);
      } else if (test.result === "valid") {
        expect(outcome.accepted, String((outcome as { error?: unknown }).error)).toBe(true);
      } else {
        expect(outcome.accepted).toBe(false);
      }
    });
  }
});

describe("the key checks the Wycheproof JWK vectors called for", () => {
  it("sees the ROCA fingerprint (CVE-2017-15361) in Wycheproof's ROCA key, and not in other moduli", () => {
    const roca = vectors("json_web_key_test.json").testGroups.find((group) => group.comment === "jws_rsa_roca_key")!;
    expect(hasRocaFingerprint(String((roca.public as { keys: Array<{ n: string }> }).keys[0]!.n))).toBe(true);
    const rs256 = vectors("json_web_signature_test.json").testGroups.find((group) => group.comment === "rs256")!;
    expect(hasRocaFingerprint(String((rs256.public as { n: string }).n))).toBe(false);
    // a sound modulus passes by chance with a probability below 2^-150: 1000 random odd 2048-bit numbers never do
    for (let i = 0; i < 1000; i++) {
      const n = randomBytes(256);
      n[0]! |= 0x80;
      n[255]! |= 1;
      expect(hasRocaFingerprint(n.toString("base64url"))).toBe(false);
    }
  });
});
