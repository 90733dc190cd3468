import { randomUUID } from "node:crypto";
import { startPostgres, storeServersMissing, type TestPostgres } from "@m2m/store-kit/testing";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresLedger } from "../src/charges/postgres-ledger.js";
import type { Authorization, CardProcessor } from "../src/charges/processor.js";
import { AuthStub, newCharge, postCharge, startService, type TestService } from "./support.js";

// Two payment-service instances on one PostgreSQL ledger (DATABASE_URL), a
// real server started for this file: the exactly-once guarantee across
// instances, the cross-instance 409, and the idempotency keys' retention
// (the SQLite ledger's is in retention.test.ts). Skipped, saying why, on a
// machine without PostgreSQL, but in CI (REQUIRE_STORE_SERVERS=1).

let postgres: TestPostgres;
let auth: AuthStub;
let db: pg.Pool;
const services: TestService[] = [];
let token: string;

/** A processor that answers only when the test lets it, to hold a charge "in progress". */
function gatedProcessor() {
  const waiting: (() => void)[] = [];
  const processor: CardProcessor = {
    authorize: () => new Promise<Authorization>((resolve) => waiting.push(() => resolve({ approved: true }))),
  };
  return { processor, waiting, releaseAll: () => waiting.splice(0).forEach((go) => go()) };
}

async function instance(url: string, options: Parameters<typeof startService>[1] = {}): Promise<TestService> {
  const service = await startService(auth, { ...options, env: { DATABASE_URL: url, ...options.env } });
  services.push(service);
  return service;
}

beforeAll(async () => {
  [postgres, auth] = await Promise.all([startPostgres(), AuthStub.start()]);
  token = await auth.token();
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((service) => service.running.close()));
  await db?.end();
  await auth?.close();
  await postgres?.dispose();
});

describe.skipIf(storeServersMissing())("the ledger in PostgreSQL, shared by two instances", () => {
  let url: string;
  let a: TestService;
  let b: TestService;
  beforeAll(async () => {
    url = await postgres.database("ledger");
    [a, b] = await Promise.all([instance(url), instance(url)]);
    db = new pg.Pool({ connectionString: url });
  });

  const chargesFor = async (orderId: string) => (await db.query("SELECT id FROM charges WHERE order_id = $1", [orderId])).rows as { id: string }[];

  it("charges once for one Idempotency-Key sent 40 times at once to both instances: one row, one charge id in every 2xx", async () => {
    const body = newCharge();
    const key = randomUUID();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => postCharge(i % 2 ? a : b, body, { token, key })));
    const charged = replies.filter((reply) => reply.status === 201 || reply.status === 200);
    expect(replies.every((reply) => [200, 201, 409].includes(reply.status))).toBe(true);
    expect(new Set(charged.map((reply) => reply.body.id)).size).toBe(1);
    expect(await chargesFor(body.orderId)).toEqual([{ id: charged[0]!.body.id }]);
    // and every later retry, at either instance, gets that charge
    for (const service of [a, b]) expect((await postCharge(service, body, { token, key })).body.id).toBe(charged[0]!.body.id);
  });

  it("answers 409 idempotency_key_in_use at one instance while the other has the key's charge with the processor", async () => {
    const gate = gatedProcessor();
    const slow = await instance(url, { processor: gate.processor });
    const body = newCharge();
    const key = randomUUID();
    const first = postCharge(slow, body, { token, key });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gate.waiting).toHaveLength(1);
    const meanwhile = await postCharge(a, body, { token, key });
    expect(meanwhile.status).toBe(409);
    expect(meanwhile.body.error).toBe("idempotency_key_in_use");
    gate.releaseAll();
    const settled = await first;
    expect(settled.status).toBe(201);
    expect((await postCharge(a, body, { token, key })).body.id).toBe(settled.body.id);
    expect(await chargesFor(body.orderId)).toHaveLength(1);
  });
});

describe.skipIf(storeServersMissing())("PostgresLedger.record", () => {
  it("lets the unique constraint decide, not the lock: a key row written meanwhile by anyone wins, and its answer comes back", async () => {
    const url = await postgres.database("unique_key");
    await instance(url); // migrates the schema
    const pool = new pg.Pool({ connectionString: url });
    const ledger = new PostgresLedger(pool);
    try {
      const hold = (await ledger.hold("order-service", "k-1"))!;
      expect(hold.existing).toBeUndefined();
      // a writer that ignores the lock records the key first
      await pool.query("INSERT INTO charges VALUES ('ch_first', 'ord_1', 'cus_1', 100, 'EUR', 'succeeded', 'order-service', now())");
      await pool.query(
        `INSERT INTO idempotency_keys VALUES ('order-service', 'k-1', 'fp', 'ch_first', 201, '{"id":"ch_first"}', now())`,
      );
      const charge = { id: "ch_second", orderId: "ord_1", customerId: "cus_1", amount: 100, currency: "EUR", status: "succeeded" as const, clientId: "order-service", createdAt: new Date().toISOString() };
      const result = await hold.record({ charge, idempotencyKey: "k-1", fingerprint: "fp", response: { status: 201, body: { id: "ch_second" } } });
      expect(result).toEqual({ created: false, existing: expect.objectContaining({ chargeId: "ch_first", status: 201 }) });
      expect((await pool.query("SELECT id FROM charges ORDER BY id")).rows).toEqual([{ id: "ch_first" }]);
    } finally {
      await ledger.close();
    }
  });
});

describe.skipIf(storeServersMissing())("the idempotency keys' retention", () => {
  it("prunes keys past IDEMPOTENCY_KEY_RETENTION and keeps their charges: a key sent again after that is a new request", async () => {
    const url = await postgres.database("retention");
    const clock = { now: Date.now() };
    const service = await instance(url, { clock: () => clock.now, env: { IDEMPOTENCY_KEY_RETENTION: "3600" } });
    // tokens minted on the service's clock, which the test moves by an hour
    const tokenNow = () => auth.token({ iat: Math.floor(clock.now / 1000), exp: Math.floor(clock.now / 1000) + 300 });
    const body = newCharge();
    const key = randomUUID();
    const first = await postCharge(service, body, { token: await tokenNow(), key });
    clock.now += 3_599_000;
    expect(await service.running.pruneKeys()).toBe(0);
    expect((await postCharge(service, body, { token: await tokenNow(), key })).body.id).toBe(first.body.id);
    clock.now += 2_000;
    expect(await service.running.pruneKeys()).toBe(1);
    expect(service.events("idempotency_keys.pruned")).toContainEqual(expect.objectContaining({ pruned: 1, retention_seconds: 3600 }));
    const pool = new pg.Pool({ connectionString: url });
    try {
      expect((await pool.query("SELECT count(*)::int AS n FROM charges")).rows[0].n).toBe(1);
      expect((await pool.query("SELECT count(*)::int AS n FROM idempotency_keys")).rows[0].n).toBe(0);
    } finally {
      await pool.end();
    }
    const again = await postCharge(service, body, { token: await tokenNow(), key });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
  });
});
