import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrate, openPostgres, openRedis, whenConnected, type Pool, type Redis } from "@m2m/store-kit";
import { startPostgres, startRedis, storeServersMissing, type TestPostgres, type TestServer } from "@m2m/store-kit/testing";
import { MemoryTrustedCallers, SigningKeys, StoreUnavailableError, TokenIssuer, developmentRegistry, type EndpointRequest } from "@m2m/token-issuer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../src/stores/index.js";
import { KeyEncryptionKey } from "../src/stores/key-encryption.js";
import { PostgresKeyRing } from "../src/stores/postgres-key-ring.js";
import { PostgresTrustedCallers } from "../src/stores/postgres-trusted-callers.js";
import { RedisFailureCounts } from "../src/stores/redis-failure-counts.js";
import { RedisUsedIdentifiers } from "../src/stores/redis-used-identifiers.js";
import { run } from "./processes.js";
import { tempDir } from "./support.js";

// The shared stores against real servers: PostgreSQL and Redis from Debian's
// packages, started on loopback ports for this file and stopped after it.

let postgres: TestPostgres;
let redisServer: TestServer;
const pools: Pool[] = [];
const clients: Redis[] = [];

beforeAll(async () => {
  [postgres, redisServer] = await Promise.all([startPostgres(), startRedis()]);
}, 60_000);

afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  for (const client of clients) client.disconnect();
  await Promise.all([postgres?.dispose(), redisServer?.dispose()]);
});

async function database(name: string): Promise<Pool> {
  const pool = openPostgres(await postgres.database(name), { applicationName: "auth-server-test" });
  pools.push(pool);
  await migrate(pool, { app: "auth-server", dir: MIGRATIONS_DIR });
  return pool;
}

async function redis(): Promise<Redis> {
  const client = openRedis(redisServer.url);
  clients.push(client);
  await whenConnected(client);
  return client;
}

const kek = KeyEncryptionKey.generate();
const TTL = 300;

describe.skipIf(storeServersMissing())("PostgresKeyRing", () => {
  it("gives instances that start at once on an empty database one first key, sealed: no private member in clear", async () => {
    const pool = await database("first_key");
    const open = () => SigningKeys.open({ ring: new PostgresKeyRing(pool, kek), alg: "RS256", tokenTtlSeconds: TTL, manage: true, clock: Date.now });
    const instances = await Promise.all([open(), open(), open()]);
    expect(new Set(instances.map((keys) => keys.current().kid)).size).toBe(1);
    const { rows } = await pool.query<{ kid: string; public_jwk: Record<string, unknown>; private_jwk: Buffer }>("SELECT kid, public_jwk, private_jwk FROM signing_keys");
    expect(rows).toHaveLength(1);
    const { d } = instances[0]!.current().publicJwk as { d?: string };
    expect(d).toBeUndefined();
    const privateD = (await new PostgresKeyRing(pool, kek).read())[0]!.privateJwk.d!;
    // neither the private exponent nor the JSON of the key is readable in the row
    expect(rows[0]!.private_jwk.includes(Buffer.from(privateD))).toBe(false);
    expect(rows[0]!.private_jwk.includes(Buffer.from('"d"'))).toBe(false);
    expect(Object.keys(rows[0]!.public_jwk)).not.toContain("d");
  });

  it("refuses, naming the variable to fix, keys sealed under another key-encryption key", async () => {
    const pool = await database("other_kek");
    await SigningKeys.open({ ring: new PostgresKeyRing(pool, kek), alg: "ES256", tokenTtlSeconds: TTL, manage: true, clock: Date.now });
    await expect(new PostgresKeyRing(pool, KeyEncryptionKey.generate()).read()).rejects.toThrow(/KEY_ENCRYPTION_KEY_FILE/);
  });

  it("refuses a sealed key moved to another row (the kid is bound to its ciphertext)", async () => {
    const pool = await database("moved_key");
    const ring = new PostgresKeyRing(pool, kek);
    const keys = await SigningKeys.open({ ring, alg: "ES256", tokenTtlSeconds: TTL, manage: true, clock: Date.now });
    await pool.query("INSERT INTO signing_keys (kid, alg, activates_at, public_jwk, private_jwk, kek_id) SELECT 'copy', alg, activates_at, public_jwk, private_jwk, kek_id FROM signing_keys WHERE kid = $1", [keys.current().kid]);
    await expect(ring.read()).rejects.toThrow(/does not open/);
  });

  it("rotates once when two instances find the rotation due together", async () => {
    const pool = await database("rotation_race");
    const clock = { now: Date.now() };
    const open = () =>
      SigningKeys.open({ ring: new PostgresKeyRing(pool, kek), alg: "ES256", tokenTtlSeconds: TTL, manage: true, rotationIntervalSeconds: 3600, publishLeadSeconds: 90, clock: () => clock.now });
    const [a, b] = [await open(), await open()];
    clock.now += 3600_000;
    const results = await Promise.all([a.refresh(), b.refresh(), a.refresh(), b.refresh()]);
    expect(results.filter((result) => result.rotated !== undefined)).toHaveLength(1);
    await Promise.all([a.refresh(), b.refresh()]);
    expect(a.jwks()).toEqual(b.jwks());
    expect(a.jwks().keys).toHaveLength(2);
  });
});

describe.skipIf(storeServersMissing())("npm run rotate-keys with DATABASE_URL", () => {
  it("provisions keys in PostgreSQL (migrating it first), sealed with the servers' key-encryption key, and refuses without that key", async () => {
    const url = await postgres.database("provisioned");
    const kekFile = join(tempDir(), "kek");
    writeFileSync(kekFile, `${kek.export()}\n`);
    const env = { DATABASE_URL: url, KEY_ENCRYPTION_KEY_FILE: kekFile, SIGNING_ALG: "ES256" };
    // without the key-encryption key it refuses, rather than seal with a key no server has
    const refused = await run("dist/commands/rotate-keys.js", { DATABASE_URL: url });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim()).toMatch(/^invalid KEY_ENCRYPTION_KEY_FILE: required with DATABASE_URL/);
    const rotated = await run("dist/commands/rotate-keys.js", env);
    expect(rotated.code).toBe(0);
    const line = JSON.parse(rotated.stdout) as { created: string };
    const pool = openPostgres(url, { applicationName: "test" });
    pools.push(pool);
    expect((await new PostgresKeyRing(pool, kek).read()).map((key) => key.kid)).toEqual([line.created]);
  });
});

describe.skipIf(storeServersMissing())("PostgresTrustedCallers", () => {
  it("trusts a pair at every instance, and keeps at most 64 addresses per client, only its own oldest going", async () => {
    const pool = await database("trusted");
    const [a, b] = [new PostgresTrustedCallers(pool), new PostgresTrustedCallers(pool)];
    // b asks first: a "no" is not remembered, so a's trust counts at b at once
    expect(await b.trustedUntil("order-service", "10.0.0.1", 0)).toBeUndefined();
    await a.trust("order-service", "10.0.0.1", 10_000);
    expect(await b.trustedUntil("order-service", "10.0.0.1", 0)).toBe(10_000);
    expect(await b.trustedUntil("order-service", "10.0.0.1", 10_000)).toBeUndefined();
    for (let i = 0; i < 100; i++) await b.trust("other", `10.1.0.${i}`, 20_000 + i);
    for (let i = 2; i <= 64; i++) await a.trust("order-service", `10.0.0.${i}`, 10_000 + i);
    expect(await a.trustedUntil("order-service", "10.0.0.1", 0)).toBe(10_000);
    await a.trust("order-service", "10.0.0.65", 10_065);
    expect(await a.trustedUntil("order-service", "10.0.0.1", 0)).toBeUndefined();
    const { rows } = await pool.query<{ client_id: string; n: number }>("SELECT client_id, count(*)::int AS n FROM trusted_callers GROUP BY client_id ORDER BY client_id");
    expect(rows).toEqual([
      { client_id: "order-service", n: 64 },
      { client_id: "other", n: 64 },
    ]);
  });
});

describe.skipIf(storeServersMissing())("RedisUsedIdentifiers", () => {
  it("records an identifier once across instances, until it expires, within each client's share", async () => {
    const [a, b] = [new RedisUsedIdentifiers(await redis(), 3, "t1:"), new RedisUsedIdentifiers(await redis(), 3, "t1:")];
    const t = Date.now(); // the sets expire by Redis's own clock: real times
    expect(await a.use("client", "jti-1", t + 2_000, t + 1_000)).toBe(true);
    expect(await b.use("client", "jti-1", t + 2_000, t + 1_500)).toBe(false);
    expect(await b.use("client", "jti-1", t + 3_000, t + 2_000)).toBe(true); // expired: no longer a replay
    const raced = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).use("client", "jti-race", t + 9_000, t + 2_000)));
    expect(raced.filter(Boolean)).toHaveLength(1);
    await a.use("client", "jti-3", t + 9_000, t + 2_000);
    await expect(a.use("client", "jti-4", t + 9_000, t + 2_000)).rejects.toThrow(/quota/);
    expect(await a.use("another", "jti-4", t + 9_000, t + 2_000)).toBe(true);
  });
});

describe.skipIf(storeServersMissing())("RedisFailureCounts", () => {
  const request = (authorization: string, address: string): EndpointRequest => ({
    authorization,
    params: new Map([["grant_type", "client_credentials"]]),
    remoteAddress: address,
  });
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;

  async function issuers(prefix: string) {
    const keys = await SigningKeys.open({ path: tempDir(), alg: "ES256", tokenTtlSeconds: TTL, manage: true, clock: Date.now });
    const trusted = new MemoryTrustedCallers();
    const make = async () =>
      new TokenIssuer({
        issuer: "http://auth.test",
        registry: developmentRegistry(),
        keys,
        accessTokenTtl: TTL,
        stores: { trustedCallers: trusted, failureCounts: new RedisFailureCounts(await redis(), `${prefix}:`) },
      });
    return [await make(), await make()] as const;
  }

  it("counts concurrent guesses at two instances as one: of 300 at once, 21 are checked", async () => {
    const [a, b] = await issuers("concurrent");
    const settled = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).token(request(basic("order-service", "wrong"), "10.9.0.1"))));
    const statuses = settled.map((s) => (s.status === "rejected" ? (s.reason as { status: number }).status : 200));
    expect(statuses.filter((status) => status === 401)).toHaveLength(21);
    expect(statuses.filter((status) => status === 429)).toHaveLength(279);
  });

  it("takes a success back from the count, so a client's own tokens never add up to a lock", async () => {
    const [a, b] = await issuers("release");
    for (let i = 0; i < 60; i++) await (i % 2 ? a : b).token(request(basic("order-service", "super-secret"), "10.9.0.2"));
    await expect(a.token(request(basic("order-service", "wrong"), "10.9.0.3"))).rejects.toMatchObject({ status: 401 });
  });

  it("never refuses a client's own burst: 64 concurrent requests with the right secret at two instances all get tokens", async () => {
    const [a, b] = await issuers("burst");
    const settled = await Promise.allSettled(Array.from({ length: 64 }, (_, i) => (i % 2 ? a : b).token(request(basic("order-service", "super-secret"), "10.9.0.4"))));
    expect(settled.filter((s) => s.status === "rejected").map((s) => (s as PromiseRejectedResult).reason?.status)).toEqual([]);
  });

  it("fails closed when Redis cannot answer: 503 with Retry-After, not a check skipped", async () => {
    const client = await redis();
    const counts = new RedisFailureCounts(client, "down:");
    client.disconnect();
    await expect(counts.reserve([{ table: "address", key: "x", limit: 1 }], 60_000, Date.now())).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
