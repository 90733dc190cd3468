import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, startPostgres, startRedis, type TestPostgres, type TestServer } from "@m2m/store-kit/testing";
import type { BenchContext } from "../context.js";
import { basic, chargeBody, expectStatus, fetchToken, TOKEN_BODY } from "../http.js";
import { measure, type Measurement, type Target } from "../rounds.js";
import type { ChildServer } from "../servers/child-server.js";

export interface StoresResults {
  measurements: Measurement[];
}

/** `/token` (RS256) with everything under DATA_DIR and in memory: the reference. */
export const TOKEN_EMBEDDED = "auth-server, embedded stores (SQLite, memory)";
/** `/token` with DATABASE_URL and REDIS_URL: keys and trusted callers in PostgreSQL, used jtis and failure counts in Redis. */
export const TOKEN_SHARED = "auth-server, PostgreSQL + Redis";
export const TOKEN_POSTGRES = "auth-server, PostgreSQL only (trusted callers)";
export const TOKEN_REDIS = "auth-server, Redis only (failure counts)";
/** Two auth-server instances on the same stores, the connections spread over both, on the same one core. */
export const TOKEN_TWO = "two auth-server instances, PostgreSQL + Redis";
export const CHARGE_SQLITE = "payment-service, SQLite ledger";
export const CHARGE_POSTGRES = "payment-service, PostgreSQL ledger";

/**
 * The shared stores against the embedded ones, one instance each, measured
 * in the same interleaved rounds: `POST /token` (client_secret_basic, RS256)
 * on auth-server with nothing set, with PostgreSQL, with Redis, with both;
 * `POST /charge` on payment-service with its SQLite ledger and with
 * PostgreSQL; and two auth-server instances on both stores against one.
 * PostgreSQL and Redis are Debian's servers on loopback ports, started here
 * (unpinned: they share the other core with the load generator).
 */
export async function runStores(ctx: BenchContext): Promise<StoresResults> {
  let postgres: TestPostgres | undefined;
  let redis: TestServer | undefined;
  const started: ChildServer[] = [];
  const dir = mkdtempSync(join(tmpdir(), "m2m-bench-stores-"));
  const start = async (...args: Parameters<BenchContext["start"]>) => {
    const server = await ctx.start(...args);
    started.push(server);
    return server;
  };
  try {
    [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    const kek = join(dir, "key-encryption-key");
    writeFileSync(kek, randomBytes(32).toString("base64"), { mode: 0o600 });
    const [authDb, authDbTwo, paymentsDb] = await Promise.all([postgres.database("bench_auth"), postgres.database("bench_auth_two"), postgres.database("bench_payments")]);
    // each deployment its own Redis database: the failure counts of one (order-service at 127.0.0.1) are not the others'
    const redisDb = (n: number) => `${redis!.url}/${n}`;
    const shared = (database: string, n: number) => ({ DATABASE_URL: database, REDIS_URL: redisDb(n), KEY_ENCRYPTION_KEY_FILE: kek });
    const auth = (label: string, env: Record<string, string>) => start(label, { kind: "auth-server", alg: "RS256", env });
    // the two instances share one issuer, as behind one name: the first one's URL
    const first = await auth("auth-two-a", shared(authDbTwo, 1));
    // one after another: eight servers starting at once on the one server core can outwait the start timeout
    const embedded = await auth("auth-embedded", {});
    const both = await auth("auth-shared", shared(authDb, 2));
    const pgOnly = await auth("auth-postgres", { DATABASE_URL: authDb, KEY_ENCRYPTION_KEY_FILE: kek });
    const redisOnly = await auth("auth-redis", { REDIS_URL: redisDb(3) });
    const second = await start("auth-two-b", { kind: "auth-server", alg: "RS256", port: await freePort(), env: { ...shared(authDbTwo, 1), ISSUER: first.url } });
    const issuer = embedded.url;
    const sqlite = await start("payment-sqlite", { kind: "payment-service", issuer });
    const pgLedger = await start("payment-postgres", { kind: "payment-service", issuer, env: { DATABASE_URL: paymentsDb } });
    for (const server of [embedded, both, pgOnly, redisOnly, first, second]) await fetchToken(server.url);
    let token = (await fetchToken(issuer)).access_token;
    for (const [i, server] of [sqlite, pgLedger].entries()) {
      const headers = { "content-type": "application/json", "idempotency-key": `probe-${i}`, authorization: `Bearer ${token}` };
      await expectStatus(`${server.url}/charge`, { method: "POST", headers, body: chargeBody(`probe-${i}`) }, [201]);
    }

    const tokenJob = (name: string, url: string, moreUrls?: string[]) => async () => ({
      title: name,
      url,
      ...(moreUrls ? { moreUrls } : {}),
      method: "POST" as const,
      path: "/token",
      headers: { authorization: basic("order-service", "super-secret"), "content-type": "application/x-www-form-urlencoded" },
      body: TOKEN_BODY,
      expect: [200],
    });
    const chargeJob = (name: string, url: string) => async () => {
      token = (await fetchToken(issuer)).access_token;
      return {
        title: name,
        url,
        method: "POST" as const,
        path: "/charge",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: chargeBody("{id}"),
        uniqueBody: true,
        uniqueHeader: "idempotency-key",
        expect: [201],
      };
    };
    const targets: Target[] = [
      { name: TOKEN_EMBEDDED, processes: [embedded], job: tokenJob(TOKEN_EMBEDDED, embedded.url) },
      { name: TOKEN_SHARED, processes: [both], job: tokenJob(TOKEN_SHARED, both.url) },
      { name: TOKEN_POSTGRES, processes: [pgOnly], job: tokenJob(TOKEN_POSTGRES, pgOnly.url) },
      { name: TOKEN_REDIS, processes: [redisOnly], job: tokenJob(TOKEN_REDIS, redisOnly.url) },
      { name: TOKEN_TWO, processes: [first, second], job: tokenJob(TOKEN_TWO, first.url, [second.url]) },
      { name: CHARGE_SQLITE, processes: [sqlite], job: chargeJob(CHARGE_SQLITE, sqlite.url) },
      { name: CHARGE_POSTGRES, processes: [pgLedger], job: chargeJob(CHARGE_POSTGRES, pgLedger.url) },
    ];
    return { measurements: await measure(ctx.load, targets, ctx.options, ctx.log) };
  } finally {
    await ctx.stop(...started);
    await Promise.all([postgres?.dispose(), redis?.dispose()]);
    rmSync(dir, { recursive: true, force: true });
  }
}
