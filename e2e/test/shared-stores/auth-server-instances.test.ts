import { generateKeyPairSync, randomUUID } from "node:crypto";
import { createLocalJWKSet, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateDPoPKey } from "@m2m/token-client";
import { basic, eventually, send, tokenRequest } from "../support.js";
import { Cluster, storeServersMissing, type Instance } from "./cluster.js";

// Two auth-server instances on one PostgreSQL (keys, trust) and one Redis
// (used jtis, failure counts): what one refuses, the other refuses; what one
// counts, the other counts; one rotation, published by both before either
// signs with it; and Redis gone is 503, never a token.

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });

/** The development registry's order-service (secret `super-secret`), and ledger-sync, which signs assertions. */
const REGISTRY = {
  resource_servers: [{ id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] }],
  clients: [
    {
      client_id: "order-service",
      client_secret_hash: "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk",
      scopes: ["charge:customer"],
      audiences: ["payment-service"],
    },
    {
      client_id: "ledger-sync",
      jwks: { keys: [{ ...publicKey.export({ format: "jwk" }), kid: "ledger-1", alg: "ES256", use: "sig" }] },
      scopes: ["charge:read"],
      audiences: ["payment-service"],
    },
  ],
};

let cluster: Cluster;
let env: Record<string, string>;
let a: Instance;
let b: Instance;
const ISSUER = "http://auth.cluster.test";

beforeAll(async () => {
  cluster = await Cluster.start();
  env = {
    ISSUER,
    CLIENTS: JSON.stringify(REGISTRY),
    DATABASE_URL: await cluster.database("auth"),
    REDIS_URL: cluster.redis.url,
    KEY_ENCRYPTION_KEY_FILE: cluster.keyEncryptionKeyFile,
    KEY_RELOAD_INTERVAL: "1",
    // DPoP nonces of one instance are good at the other
    DPOP_NONCE_SECRET: "a nonce secret the instances share, 32+ characters",
  };
  [a, b] = await Promise.all([cluster.start("auth-server", "auth-a", env), cluster.start("auth-server", "auth-b", env)]);
}, 90_000);

afterAll(async () => {
  await cluster?.dispose();
});

function assertion(jti = randomUUID()): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti })
    .setProtectedHeader({ alg: "ES256", kid: "ledger-1" })
    .setIssuer("ledger-sync")
    .setSubject("ledger-sync")
    .setAudience(ISSUER)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(privateKey);
}

const withAssertion = (instance: Instance, signed: string) =>
  tokenRequest(instance.url, { grant_type: "client_credentials", client_assertion_type: JWT_BEARER, client_assertion: signed });
const withSecret = (instance: Instance, clientId: string, secret: string) =>
  tokenRequest(instance.url, { grant_type: "client_credentials" }, { authorization: basic(clientId, secret) });

describe.skipIf(storeServersMissing())("two auth-server instances on shared stores", () => {
  it("publishes one JWK Set at both instances, from one key made once though both started at the same moment", async () => {
    const [jwksA, jwksB] = await Promise.all([send(`${a.url}/.well-known/jwks.json`), send(`${b.url}/.well-known/jwks.json`)]);
    expect(jwksA.body.keys).toHaveLength(1);
    expect(jwksB.body).toEqual(jwksA.body);
  });

  it("refuses at instance B a client assertion used at instance A", async () => {
    const signed = await assertion();
    const first = await withAssertion(a, signed);
    expect(first.status).toBe(200);
    const replayed = await withAssertion(b, signed);
    expect(replayed.status).toBe(401);
    expect(replayed.body.error).toBe("invalid_client");
    expect(cluster.events("token.refused", "auth-b").at(-1)?.reason).toMatch(/already used/);
    // and at A itself, for good measure
    expect((await withAssertion(a, signed)).status).toBe(401);
  });

  it("refuses at instance B a DPoP proof used at instance A: proofs' jtis are in the same Redis", async () => {
    const key = await generateDPoPKey();
    const htu = `${ISSUER}/token`;
    const ask = (instance: Instance, proof: string) =>
      tokenRequest(instance.url, { grant_type: "client_credentials" }, { authorization: basic("order-service", "super-secret"), dpop: proof });
    const nonce = await ask(a, await key.proof({ htm: "POST", htu }));
    expect(nonce.body.error).toBe("use_dpop_nonce");
    key.rememberNonce(htu, nonce.headers.get("dpop-nonce")!);
    const proof = await key.proof({ htm: "POST", htu });
    expect((await ask(a, proof)).status).toBe(200);
    const replayed = await ask(b, proof);
    expect(replayed.status).toBe(400);
    expect(replayed.body.error).toBe("invalid_dpop_proof");
  });

  it("counts wrong secrets over both instances: 21 wrong ones spread over A and B are all checked (401), the 22nd is 429 with Retry-After", async () => {
    // more than 20 failed authentications a minute for one client id: the wire contract's limit
    const replies = [];
    for (let i = 0; i < 21; i++) replies.push(await withSecret(i % 2 ? a : b, "reporting-service", `wrong-${i}`));
    expect(replies.map((reply) => reply.status)).toEqual(Array(21).fill(401));
    for (const instance of [a, b]) {
      const refused = await withSecret(instance, "reporting-service", "wrong-again");
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(refused.body.error).toBe("temporarily_unavailable");
    }
  });
});

describe.skipIf(storeServersMissing())("a rotation under load, with two instances", () => {
  it("rotates once: every token verifies, exactly one new kid appears, and both instances publish it before either signs with it", async () => {
    // a rotation is due when the newest key is KEY_ROTATION_INTERVAL (60 s, the least allowed) old, less the lead
    const rotating = { ...env, KEY_ROTATION_INTERVAL: "60", KEY_PUBLISH_LEAD: "10", DATABASE_URL: await cluster.database("rotation") };
    const [c, d] = await Promise.all([cluster.start("auth-server", "rotate-c", rotating), cluster.start("auth-server", "rotate-d", rotating)]);
    const kidsOf = async (instance: Instance) => ((await send(`${instance.url}/.well-known/jwks.json`)).body.keys as { kid: string }[]).map((key) => key.kid);
    const [firstKid] = await kidsOf(c);

    const firstPublished = new Map<string, number>(); // `${instance} ${kid}` → when first seen in its JWK Set
    const tokens: { token: string; receivedAt: number }[] = [];
    const refusals: number[] = [];
    let running = true;
    const watch = (async () => {
      while (running) {
        for (const instance of [c, d]) {
          for (const kid of await kidsOf(instance)) if (!firstPublished.has(`${instance.label} ${kid}`)) firstPublished.set(`${instance.label} ${kid}`, Date.now());
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const load = Array.from({ length: 4 }, (_, worker) =>
      (async () => {
        for (let i = 0; running; i++) {
          const reply = await withSecret((i + worker) % 2 ? c : d, "order-service", "super-secret");
          if (reply.status === 200) tokens.push({ token: reply.body.access_token as string, receivedAt: Date.now() });
          else refusals.push(reply.status);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })(),
    );

    let newKid: string | undefined;
    try {
      newKid = await eventually(
        async () => tokens.map(({ token }) => kidOf(token)).find((kid) => kid !== firstKid),
        90_000,
        "a token signed with a rotated-in key",
      );
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // and some more load after the switch
    } finally {
      running = false;
      await Promise.all([watch, ...load]);
    }

    expect(refusals).toEqual([]);
    const [jwksC, jwksD] = [await kidsOf(c), await kidsOf(d)];
    expect(new Set(jwksC)).toEqual(new Set([firstKid, newKid]));
    expect(new Set(jwksD)).toEqual(new Set(jwksC));
    expect(new Set(tokens.map(({ token }) => kidOf(token)))).toEqual(new Set([firstKid, newKid]));
    expect(cluster.events("keys.changed").filter((line) => line.rotated !== undefined)).toHaveLength(1);

    const published = Math.max(firstPublished.get(`rotate-c ${newKid}`)!, firstPublished.get(`rotate-d ${newKid}`)!);
    const firstSigned = Math.min(...tokens.filter(({ token }) => kidOf(token) === newKid).map(({ receivedAt }) => receivedAt));
    // in both JWK Sets at least the lead before its first token, less the reload interval (the key
    // reaches an instance's set within it) and a second for this watcher's polls on a busy machine
    expect(firstSigned - published).toBeGreaterThanOrEqual((Number(rotating.KEY_PUBLISH_LEAD) - Number(env.KEY_RELOAD_INTERVAL) - 1) * 1000);

    const jwks = createLocalJWKSet((await send(`${c.url}/.well-known/jwks.json`)).body as JSONWebKeySet);
    for (const { token } of tokens) await jwtVerify(token, jwks, { issuer: ISSUER, audience: "payment-service", typ: "at+jwt" });
    console.log(`rotation under load: ${tokens.length} tokens, new key published ${firstSigned - published} ms before its first token`);
  }, 150_000);
});

describe.skipIf(storeServersMissing())("Redis stopped", () => {
  it("answers 503 temporarily_unavailable with Retry-After, never a token; once Redis is back, tokens again without a restart", async () => {
    await cluster.redis.stop();
    try {
      const attempts = [await withSecret(a, "order-service", "super-secret"), await withAssertion(b, await assertion()), await withSecret(b, "order-service", "super-secret")];
      for (const reply of attempts) {
        expect(reply.status).toBe(503);
        expect(reply.body.error).toBe("temporarily_unavailable");
        expect(Number(reply.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(reply.body.access_token).toBeUndefined();
      }
    } finally {
      await cluster.redis.start();
    }
    await eventually(async () => ((await withSecret(a, "order-service", "super-secret")).status === 200 ? true : undefined), 10_000, "a token from A");
    await eventually(async () => ((await withAssertion(b, await assertion())).status === 200 ? true : undefined), 10_000, "a token from B");
    expect(cluster.events("store.available").length).toBeGreaterThanOrEqual(2);
  });
});

function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()).kid as string;
}

