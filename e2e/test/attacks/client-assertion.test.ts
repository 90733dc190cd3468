import { createPublicKey, generateKeyPairSync, randomUUID, type KeyObject } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { b64url, forge, hmacSigner, nowSec, signerFor, type Json, type Signer } from "./forge.js";
import {
  countingServer,
  expectNothingLeaked,
  expectNotLogged,
  expectOAuthError,
  rawTokenRequest,
  send,
  startAuthServer,
  writeClientsFile,
  type AuthServer,
  type RawReply,
} from "./harness.js";

// The attack catalogue of the resource server (access-token.test.ts), thrown
// at POST /token as private_key_jwt client assertions (RFC 7523 §2.2, §3):
// each must be 401 invalid_client, and no attack may get a token. The
// failure limiter counts every refusal (more than 20 a minute for one client
// id, or 100 from one address, is 429), so the attacks are spread over
// clients that each take fewer than 20, each sent from its own loopback
// address (127.0.0.0/8 is all this host).
const ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

interface Client {
  id: string;
  alg: "ES256" | "RS256";
  kid: string;
  privateKey: KeyObject;
  jwk: JWK;
  from: string;
}
function client(id: string, alg: Client["alg"], from: string): Client {
  const { privateKey, publicKey } = alg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "prime256v1" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = `${id}-key-1`;
  return { id, alg, kid, privateKey, jwk: { ...(publicKey.export({ format: "jwk" }) as JWK), kid, alg, use: "sig" }, from };
}
const clients = {
  none: client("cat-none", "ES256", "127.0.0.61"),
  rsa: client("cat-rsa", "RS256", "127.0.0.62"),
  header: client("cat-header", "ES256", "127.0.0.63"),
  kid: client("cat-kid", "ES256", "127.0.0.64"),
  claims: client("cat-claims", "ES256", "127.0.0.65"),
  other: client("cat-other", "ES256", "127.0.0.66"),
};

let dir: string;
let auth: AuthServer;
const sent: string[] = [];
const replies: RawReply[] = [];
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "m2m-attack-assertions-"));
  const registry = {
    resource_servers: [{ id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer"] }],
    clients: Object.values(clients).map((c) => ({ client_id: c.id, jwks: { keys: [c.jwk] }, scopes: ["charge:customer"], audiences: ["payment-service"] })),
  };
  auth = await startAuthServer({ CLIENTS_FILE: writeClientsFile(dir, registry) });
});
afterAll(async () => {
  await auth?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function claims(c: Client, overrides: Json = {}): Json {
  const now = nowSec();
  return { iss: c.id, sub: c.id, aud: auth.url, iat: now, exp: now + 60, jti: randomUUID(), ...overrides };
}
const header = (c: Client, overrides: Json = {}): Json => ({ alg: c.alg, kid: c.kid, ...overrides });
const signed = (c: Client, overrides: Json = {}, headerOverrides: Json = {}) => forge(header(c, headerOverrides), claims(c, overrides), signerFor(c.alg, c.privateKey));

async function present(c: Client, assertion: string): Promise<RawReply> {
  sent.push(assertion);
  const reply = await rawTokenRequest(
    auth.url,
    { grant_type: "client_credentials", scope: "charge:customer", client_assertion_type: ASSERTION_TYPE, client_assertion: assertion },
    c.from,
  );
  replies.push(reply);
  return reply;
}
/** 401 invalid_client, as the contract writes it (RFC 6749 §5.2), and no token. */
function expectInvalidClient(reply: RawReply, what: string) {
  expectOAuthError({ status: reply.status, body: reply.body, headers: new Headers(reply.headers as Record<string, string>) }, 401, "invalid_client", what);
  expect(reply.body.access_token, what).toBeUndefined();
}

describe("controls: a good assertion of each catalogue client gets a token, so each refusal below is the check's doing", () => {
  it("issues a token to each client for an assertion signed with its registered key", async () => {
    for (const c of Object.values(clients)) {
      const reply = await present(c, signed(c));
      expect(reply.status, `${c.id}: ${reply.text}`).toBe(200);
    }
  });
});

describe("the attack catalogue as client assertions at POST /token: 401 invalid_client", () => {
  it("refuses alg none in all 16 case spellings, with or without a signature (RFC 8725 §2.1, RFC 7518 §3.6)", async () => {
    const c = clients.none;
    for (const [i, alg] of caseSpellings("none").entries()) {
      const signer: Signer | undefined = i % 2 === 0 ? undefined : signerFor(c.alg, c.privateKey);
      expectInvalidClient(await present(c, forge(header(c, { alg }), claims(c), signer)), `alg ${alg}`);
    }
  });

  it("refuses HS256 keyed with the client's RSA public key, as PEM, DER or JWK (RS/HS key confusion, CVE-2015-9235, RFC 8725 §3.1)", async () => {
    const c = clients.rsa;
    const publicKey = createPublicKey(c.privateKey);
    const secrets: Array<[string, string | Buffer]> = [
      ["SPKI PEM", publicKey.export({ type: "spki", format: "pem" }).toString()],
      ["PKCS#1 PEM", publicKey.export({ type: "pkcs1", format: "pem" }).toString()],
      ["SPKI DER", publicKey.export({ type: "spki", format: "der" })],
      ["the registered JWK", JSON.stringify(c.jwk)],
    ];
    for (const alg of ["HS256", "HS384", "HS512"]) {
      for (const [what, secret] of secrets) {
        expectInvalidClient(await present(c, forge(header(c, { alg }), claims(c), hmacSigner(secret))), `${alg} with ${what}`);
      }
    }
  });

  it("refuses an attacker's key in a jwk, jku, x5u or x5c header instead of the registered one, and fetches nothing (CVE-2018-0114, RFC 8725 §3.10)", async () => {
    const c = clients.header;
    const attacker = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const attackerJwk = { ...(attacker.publicKey.export({ format: "jwk" }) as JWK), alg: "ES256", use: "sig", kid: c.kid };
    const pointed = await countingServer((_req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: [attackerJwk] }));
    });
    try {
      const byAttacker = (extra: Json) => forge(header(c, extra), claims(c), signerFor("ES256", attacker.privateKey));
      const cases: Record<string, string> = {
        "jwk, the registered kid": byAttacker({ jwk: attackerJwk }),
        "jwk, no kid": forge({ alg: "ES256", jwk: attackerJwk }, claims(c), signerFor("ES256", attacker.privateKey)),
        jku: byAttacker({ jku: `${pointed.url}/jwks.json` }),
        x5u: byAttacker({ x5u: `${pointed.url}/chain.pem` }),
        x5c: byAttacker({ x5c: [selfSignedCertificate(attacker.privateKey)] }),
      };
      for (const [what, assertion] of Object.entries(cases)) expectInvalidClient(await present(c, assertion), what);
      expect(pointed.hits).toEqual([]);
    } finally {
      await pointed.close();
    }
  });

  it("refuses ECDSA signatures with r = s = 0, r = s = n and the like (psychic signatures, CVE-2022-21449)", async () => {
    const c = clients.header;
    const n = Buffer.from("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", "hex");
    const zero = Buffer.alloc(32);
    const one = Buffer.concat([Buffer.alloc(31), Buffer.from([1])]);
    for (const [what, signature] of Object.entries({ "r = s = 0": [zero, zero], "r = s = n": [n, n], "r = 0, s = n": [zero, n], "r = s = 1": [one, one] })) {
      expectInvalidClient(await present(c, forge(header(c), claims(c), () => Buffer.concat(signature))), what);
    }
  });

  it("refuses a null or truncated signature (RFC 7515 §5.2)", async () => {
    const c = clients.claims;
    const [h, p, s] = signed(c).split(".") as [string, string, string];
    const bytes = Buffer.from(s, "base64url");
    for (const [what, assertion] of Object.entries({
      "an empty signature": `${h}.${p}.`,
      "the word null": `${h}.${p}.null`,
      "half a signature": `${h}.${p}.${bytes.subarray(0, 32).toString("base64url")}`,
      "all but the last byte": `${h}.${p}.${bytes.subarray(0, -1).toString("base64url")}`,
    })) {
      expectInvalidClient(await present(c, assertion), what);
    }
  });

  it("refuses an unknown crit extension and the RFC 7797 unencoded payload (RFC 7515 §4.1.11, RFC 7797 §6)", async () => {
    const c = clients.claims;
    expectInvalidClient(await present(c, signed(c, {}, { crit: ["x-evil"], "x-evil": true })), "crit");
    expectInvalidClient(await present(c, signed(c, {}, { crit: ["b64"], b64: false })), "b64 false");
  });

  it("refuses kid injection: path traversal, SQL and shell metacharacters, a very long kid, non-strings (RFC 8725 §3.10)", async () => {
    const c = clients.kid;
    const kids: unknown[] = [
      "../../../../../../dev/null",
      "' OR '1'='1",
      "$(touch /tmp/pwned)",
      "`id`; rm -rf /",
      'x", "alg": "none',
      "k".repeat(4000),
      42,
      null,
      { $ne: "" },
      [c.kid],
    ];
    for (const kid of kids) {
      // signed by a stranger, under the registered client's name
      const stranger = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
      expectInvalidClient(await present(c, forge(header(c, { kid }), claims(c), signerFor("ES256", stranger))), `kid ${JSON.stringify(kid).slice(0, 30)}`);
    }
  });

  it("refuses claims of the wrong type: exp as a string, aud as an object, jti as a number (RFC 7519 §4.1, RFC 7523 §3)", async () => {
    const c = clients.claims;
    const now = nowSec();
    for (const [what, overrides] of Object.entries({
      "exp as a string": { exp: String(now + 60) },
      "aud as an object": { aud: { [auth.url]: true } },
      "iat as a string": { iat: String(now) },
      "nbf as a boolean": { nbf: true },
      "jti as a number": { jti: 42 },
      "sub as an array": { sub: [c.id] },
    } satisfies Record<string, Json>)) {
      expectInvalidClient(await present(c, signed(c, overrides)), what);
    }
  });

  it("refuses a member name twice in the header or the claims (RFC 7515 §5.2, RFC 7519 §4)", async () => {
    const c = clients.kid;
    const signer = signerFor(c.alg, c.privateKey);
    const signText = (headerJson: string, claimsJson: string) => {
      const input = `${b64url(headerJson)}.${b64url(claimsJson)}`;
      return `${input}.${signer(input).toString("base64url")}`;
    };
    const text = (value: Json) => JSON.stringify(value).slice(1, -1);
    expectInvalidClient(await present(c, signText(`{"alg":"none",${text(header(c))}}`, JSON.stringify(claims(c)))), "alg twice");
    expectInvalidClient(await present(c, signText(JSON.stringify(header(c)), `{"aud":"https://evil.example",${text(claims(c))}}`)), "aud twice");
    expectInvalidClient(await present(c, signText(JSON.stringify(header(c)), `{${text(claims(c))},"\\u006a\\u0074\\u0069":"another"}`)), "jti twice, once escaped");
  });

  it("refuses an assertion whose iss is the client but whose kid names another client's key, signed by that key (RFC 7523 §3, RFC 8725 §3.10)", async () => {
    const c = clients.other;
    const victim = clients.kid;
    expectInvalidClient(await present(c, forge({ alg: "ES256", kid: victim.kid }, claims(c), signerFor("ES256", victim.privateKey))), "the other client's kid and key");
    expectInvalidClient(await present(c, forge({ alg: "ES256" }, claims(c), signerFor("ES256", victim.privateKey))), "no kid, the other client's key");
  });

  it("refuses a 1 MB assertion before reading it: 413, not a crash (RFC 9110 §15.5.14)", async () => {
    const c = clients.other;
    const huge = signed(c, { pad: "x".repeat(1024 * 1024) });
    const reply = await present(c, huge);
    expect(reply.status).toBe(413);
    expect(reply.body.error).toBe("invalid_request");
  });
});

describe("afterwards", () => {
  it("issued a token for no attack, is still up, leaked nothing and logged no assertion", async () => {
    const issued = replies.filter((reply) => reply.status === 200);
    expect(issued).toHaveLength(Object.keys(clients).length); // the controls, and nothing else
    expect(replies.some((reply) => reply.status === 429), "an attack was answered 429, not 401: spread it over more clients").toBe(false);
    expect(replies.filter((reply) => reply.status >= 500)).toEqual([]);
    expect((await send(`${auth.url}/healthz`)).status).toBe(200);
    expectNothingLeaked([]);
    expectNotLogged(auth.logs, sent.filter((assertion) => assertion.length < 100_000));
  });
});

/** Every upper/lower-case spelling of `word`: 2^length of them. */
function caseSpellings(word: string): string[] {
  return Array.from({ length: 2 ** word.length }, (_, mask) => [...word].map((char, i) => (mask & (1 << i) ? char.toUpperCase() : char.toLowerCase())).join(""));
}

/** A self-signed certificate for `key`, base64 DER as x5c wants it (RFC 7515 §4.1.6). */
function selfSignedCertificate(key: KeyObject): string {
  const tmp = mkdtempSync(join(tmpdir(), "m2m-x5c-"));
  try {
    const keyFile = join(tmp, "key.pem");
    writeFileSync(keyFile, key.export({ type: "pkcs8", format: "pem" }));
    const certFile = join(tmp, "cert.der");
    execFileSync("openssl", ["req", "-x509", "-new", "-key", keyFile, "-subj", "/CN=attacker", "-days", "1", "-outform", "DER", "-out", certFile], { stdio: "ignore" });
    return readFileSync(certFile).toString("base64");
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
