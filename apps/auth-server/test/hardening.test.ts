import { generateKeyPairSync, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashSecret } from "@m2m/token-issuer";
import { SignJWT } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { basic, ISSUER, ORDER_SERVICE, postForm, postFormFrom, REPORTING_SERVICE, startTestServer, tempDir, type Reply, type TestServer } from "./support.js";

// The attack session's findings on the token endpoint (issue "Hardening, round two"), one test each.

const grant = { grant_type: "client_credentials" };
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.dispose();
});
async function start(env: Record<string, string> = {}, options: { dataDir?: string } = {}): Promise<TestServer> {
  const server = await startTestServer({ SIGNING_ALG: "ES256", ...env }, options);
  servers.push(server);
  return server;
}
async function restart(server: TestServer, env: Record<string, string> = {}): Promise<TestServer> {
  servers.splice(servers.indexOf(server), 1);
  await server.close();
  return start(env, { dataDir: server.dataDir });
}

/** The parts of an answer a caller can see, but for what differs on every request. */
function visible(reply: Reply): unknown {
  const headers = [...reply.headers.entries()].filter(([name]) => !["date", "x-request-id", "content-length", "connection", "keep-alive"].includes(name));
  return { status: reply.status, headers, body: reply.body };
}

// A registry with order-service as in development, a client with an scrypt-hashed (human-chosen)
// secret, and a client that authenticates with private_key_jwt.
const signer = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
async function registryFile(): Promise<string> {
  const file = join(tempDir(), "clients.json");
  writeFileSync(
    file,
    JSON.stringify({
      resource_servers: [{ id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer", "charge:read"] }],
      clients: [
        {
          client_id: "order-service",
          client_secret_hash: "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk",
          scopes: ["charge:customer"],
          audiences: ["payment-service"],
        },
        { client_id: "human", client_secret_hash: await hashSecret("correct horse", "scrypt"), scopes: ["charge:read"], audiences: ["payment-service"] },
        {
          client_id: "signer",
          jwks: { keys: [{ ...signer.publicKey.export({ format: "jwk" }), kid: "s1", alg: "ES256" }] },
          scopes: ["charge:read"],
          audiences: ["payment-service"],
        },
      ],
    }),
  );
  return file;
}

function assertion(server: TestServer, claims: Record<string, unknown> = {}, key = signer.privateKey, header: Record<string, unknown> = {}): Promise<string> {
  const iat = Math.floor(server.clock.now / 1000);
  return new SignJWT({ iss: "signer", sub: "signer", aud: ISSUER, jti: randomUUID(), iat, exp: iat + 60, ...claims })
    .setProtectedHeader({ alg: "ES256", kid: "s1", ...header })
    .sign(key);
}
const withAssertion = (server: TestServer, value: string) =>
  postForm(`${server.url}/token`, { ...grant, client_assertion_type: JWT_BEARER, client_assertion: value });

describe("hardening #1: an attacker without the credential cannot lock out a client that has used it from its address", () => {
  it("hardening #1a: wrong secrets from another address never refuse order-service at its own address, even after a restart", async () => {
    let server = await start();
    const tokenUrl = () => `${server.url}/token`;
    expect((await postFormFrom("127.0.0.2", tokenUrl(), grant, { authorization: ORDER_SERVICE })).status).toBe(200);
    server = await restart(server);
    const wrong = basic("order-service", "guess");
    const attacker = [];
    for (let i = 0; i < 30; i++) attacker.push((await postFormFrom("127.0.0.3", tokenUrl(), grant, { authorization: wrong })).status);
    expect(attacker.slice(0, 21)).toEqual(Array(21).fill(401));
    // the attacker's side keeps the contract's 429, with Retry-After
    expect(attacker.slice(21)).toEqual(Array(9).fill(429));
    const real = await postFormFrom("127.0.0.2", tokenUrl(), grant, { authorization: ORDER_SERVICE });
    expect(real.status).toBe(200);
    // and a brand-new caller of that client is held off while the attack goes on (documented)
    expect((await postFormFrom("127.0.0.4", tokenUrl(), grant, { authorization: ORDER_SERVICE })).status).toBe(429);
  });

  it("hardening #1b: no other client's successes, from however many addresses, evict order-service's trust", { timeout: 120_000 }, async () => {
    const server = await start();
    const tokenUrl = `${server.url}/token`;
    expect((await postFormFrom("127.0.0.2", tokenUrl, grant, { authorization: ORDER_SERVICE })).status).toBe(200);
    // more successes of reporting-service, from distinct addresses, than the old table held pairs in all (10,000)
    const addresses = Array.from({ length: 10_050 }, (_, i) => `127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, lane) => {
        for (let i = lane; i < addresses.length; i += 16) {
          statuses.push((await postFormFrom(addresses[i]!, tokenUrl, grant, { authorization: REPORTING_SERVICE })).status);
        }
      }),
    );
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    for (let i = 0; i < 25; i++) await postFormFrom("127.0.0.3", tokenUrl, grant, { authorization: basic("order-service", "guess") });
    expect((await postFormFrom("127.0.0.2", tokenUrl, grant, { authorization: ORDER_SERVICE })).status).toBe(200);
  });

  it("hardening #1c: failures under made-up client ids from an address never refuse a client that has succeeded there", async () => {
    const server = await start();
    const tokenUrl = `${server.url}/token`;
    expect((await postFormFrom("127.0.0.5", tokenUrl, grant, { authorization: ORDER_SERVICE })).status).toBe(200);
    for (let i = 0; i < 101; i++) await postFormFrom("127.0.0.5", tokenUrl, grant, { authorization: basic(`made-up-${i}`, "x") });
    expect((await postFormFrom("127.0.0.5", tokenUrl, grant, { authorization: basic("made-up-x", "x") })).status).toBe(429);
    expect((await postFormFrom("127.0.0.5", tokenUrl, grant, { authorization: ORDER_SERVICE })).status).toBe(200);
    // a client that has never succeeded from this address is held off with everyone else behind it (documented)
    expect((await postFormFrom("127.0.0.5", tokenUrl, grant, { authorization: REPORTING_SERVICE })).status).toBe(429);
  });
});

describe("hardening #2: concurrent guesses do not get past the limit", () => {
  it("hardening #2: of 300 concurrent guesses of an scrypt-hashed secret, at most 21 are verified and the right one, 250th, is not", async () => {
    const server = await start({ CLIENTS_FILE: await registryFile() });
    const tokenUrl = `${server.url}/token`;
    const guesses = Array.from({ length: 300 }, (_, i) => (i === 249 ? "correct horse" : `guess ${i}`));
    const answers = await Promise.all(guesses.map((secret) => postFormFrom("127.0.0.6", tokenUrl, grant, { authorization: basic("human", secret) })));
    const statuses = answers.map((answer) => answer.status);
    // a 401 is a verified wrong guess: no more than the limit (more than 20 failures lock) plus the one that went over
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(21);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    expect(statuses[249]).toBe(429);
    // the right secret works again once the window has passed
    server.clock.now += 61_000;
    expect((await postFormFrom("127.0.0.7", tokenUrl, grant, { authorization: basic("human", "correct horse") })).status).toBe(200);
  });
});

describe("hardening #4: a client assertion is used once, across restarts", () => {
  it("hardening #4: an assertion used before a restart is refused after it", async () => {
    let server = await start({ CLIENTS_FILE: await registryFile() });
    const once = await assertion(server);
    expect((await withAssertion(server, once)).status).toBe(200);
    server = await restart(server, { CLIENTS_FILE: await registryFile() });
    server.clock.now = Date.now();
    const replay = await withAssertion(server, once);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toBe("invalid_client");
    expect(server.logs.find((line) => line.msg === "token.refused")).toMatchObject({ reason: expect.stringMatching(/already used/) });
  });
});

describe("hardening #5: no answer tells a registered client id from an unknown one", () => {
  it("hardening #5: a wrong secret and an unknown id get the same answer, and both 429 after more than 20 failures", async () => {
    const server = await start();
    const tokenUrl = `${server.url}/token`;
    const registered: Reply[] = [];
    const unknown: Reply[] = [];
    for (let i = 0; i < 22; i++) {
      registered.push(await postFormFrom("127.0.0.8", tokenUrl, grant, { authorization: basic("order-service", "wrong") }));
      unknown.push(await postFormFrom("127.0.0.9", tokenUrl, grant, { authorization: basic("no-such-client", "wrong") }));
    }
    expect(registered.map(visible)).toEqual(unknown.map(visible));
    expect(registered[20]!.status).toBe(401);
    expect(registered[21]!.status).toBe(429);
    const post = (id: string) => postForm(tokenUrl, { ...grant, client_id: id, client_secret: "wrong" });
    expect(visible(await post("reporting-service"))).toEqual(visible(await post("also-unknown")));
  });

  it("hardening #5: every failed client assertion gets the same answer, whatever was wrong with it", async () => {
    const server = await start({ CLIENTS_FILE: await registryFile() });
    const cases = {
      "signed with another key": await assertion(server, {}, other.privateKey),
      "an algorithm the key is not for": await new SignJWT({ iss: "signer", sub: "signer", aud: ISSUER, jti: randomUUID(), exp: Math.floor(server.clock.now / 1000) + 60 })
        .setProtectedHeader({ alg: "HS256", kid: "s1" })
        .sign(new TextEncoder().encode("a shared secret of thirty-two bytes!!")),
      "a kid the client has not registered": await assertion(server, {}, signer.privateKey, { kid: "s2" }),
      "an unknown client": await assertion(server, { iss: "nobody", sub: "nobody" }),
      "a disabled or unregistered issuer with the signer's key": await assertion(server, { iss: "order-service", sub: "order-service" }),
    };
    const answers = await Promise.all(Object.values(cases).map((value) => withAssertion(server, value)));
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error: "invalid_client", error_description: "client authentication failed" });
    }
    expect(new Set(answers.map((answer) => JSON.stringify(visible(answer)))).size).toBe(1);
  });

  it("hardening #5: no log line says whether a refused client id is registered", async () => {
    const server = await start();
    await postForm(`${server.url}/token`, grant, { authorization: basic("order-service", "wrong") });
    await postForm(`${server.url}/token`, grant, { authorization: basic("no-such-client", "wrong") });
    const [registered, unknown] = server.logs.filter((line) => line.msg === "token.refused");
    const shape = (line: Record<string, unknown>) => Object.fromEntries(Object.entries(line).filter(([name]) => !["time", "req_id", "client_fingerprint"].includes(name)));
    expect(shape(registered!)).toEqual(shape(unknown!));
  });
});

describe("hardening #6: a client assertion's aud is exactly the issuer identifier", () => {
  it.each([
    ["the token endpoint URL", `${ISSUER}/token`],
    ["an array holding the issuer and more", [ISSUER, "https://attacker.example"]],
    ["an array holding only the issuer", [ISSUER]],
    ["the issuer with a trailing slash", `${ISSUER}/`],
  ])("hardening #6: refuses aud = %s", async (_what, aud) => {
    const server = await start({ CLIENTS_FILE: await registryFile() });
    expect((await withAssertion(server, await assertion(server, { aud }))).status).toBe(401);
    expect((await withAssertion(server, await assertion(server))).status).toBe(200);
  });
});

describe("hardening #11: a presented client_id is never logged verbatim", () => {
  it("hardening #11: with id and secret swapped, the secret is not in the log; refusals carry a fingerprint", async () => {
    const server = await start();
    const swapped = await postForm(`${server.url}/token`, grant, { authorization: basic("super-secret", "order-service") });
    expect(swapped.status).toBe(401);
    await postForm(`${server.url}/token`, { ...grant, client_id: "super-secret-2", client_secret: "order-service" });
    expect(server.rawLogs()).not.toContain("super-secret");
    const refused = server.logs.filter((line) => line.msg === "token.refused");
    expect(refused).toHaveLength(2);
    for (const line of refused) {
      expect(line).not.toHaveProperty("client_id");
      expect(line.client_fingerprint).toMatch(/^sha256:[0-9a-f]{12}$/);
    }
  });
});
