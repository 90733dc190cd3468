import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freePort } from "../../../scripts/stack.mjs";
import { eventually, postJson } from "../support.js";
import { Cluster, storeServersMissing, type Instance } from "./cluster.js";

// Two order-service instances on one PostgreSQL settle one backlog of 500
// pending orders; one of them is killed (SIGKILL) halfway. Every order ends
// paid, with exactly one charge in payment-service's ledger (PostgreSQL too),
// no two attempts at one order ever met at payment-service (no 409), and
// the orders the dead instance held were settled by the other.

const BACKLOG = 500;
const LEASE_MS = 11_000; // the least allowed: a killed instance's orders wait this long

let cluster: Cluster;
let orders: pg.Pool;
let payments: pg.Pool;

beforeAll(async () => {
  cluster = await Cluster.start();
}, 60_000);

afterAll(async () => {
  await orders?.end();
  await payments?.end();
  await cluster?.dispose();
});

it.skipIf(storeServersMissing())(`settles a backlog of ${BACKLOG} orders with two instances while one is SIGKILLed: every order paid, one charge each`, async () => {
  const ordersUrl = await cluster.database("orders");
  const paymentsUrl = await cluster.database("payments");
  orders = new pg.Pool({ connectionString: ordersUrl });
  payments = new pg.Pool({ connectionString: paymentsUrl });
  const authPort = await freePort();
  const issuer = { AUTH_SERVER_URL: `http://127.0.0.1:${authPort}`, ISSUER: `http://127.0.0.1:${authPort}` };
  await cluster.start("auth-server", "auth", { PORT: String(authPort), ISSUER: issuer.ISSUER });
  const orderEnv = { ...issuer, DATABASE_URL: ordersUrl, RETRY_MAX_DELAY_MS: "1000", SETTLE_LEASE_MS: String(LEASE_MS) };

  // The backlog: orders taken while payment-service is down, kept pending.
  // Down is port 1, where nothing listens: a port merely free now could be
  // taken by another process on a busy machine before the charges are sent.
  const creator = await cluster.start("order-service", "creator", { ...orderEnv, PAYMENT_SERVICE_URL: "http://127.0.0.1:1", SETTLE_WAIT_MS: "0" });
  const created: string[] = [];
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (created.length < BACKLOG) {
        created.push("");
        const reply = await postJson(`${creator.url}/orders`, { customerId: "cus_backlog", amount: 700, currency: "EUR" });
        expect(reply.status).toBe(202);
        created[created.indexOf("")] = reply.body.id as string;
      }
    }),
  );
  await cluster.stop(creator);
  expect(await count("SELECT count(*) FROM orders WHERE status = 'pending'")).toBe(BACKLOG);

  // payment-service comes up; two instances share the backlog; one dies halfway.
  const payment = await cluster.start("payment-service", "payment", { ...issuer, DATABASE_URL: paymentsUrl });
  const settling = { ...orderEnv, PAYMENT_SERVICE_URL: payment.url };
  const [a] = await Promise.all([cluster.start("order-service", "order-a", settling), cluster.start("order-service", "order-b", settling)]);
  const instanceOf = (instance: Instance) => cluster.events("store.opened", instance.label)[0]!.instance as string;
  await eventually(async () => ((await count("SELECT count(*) FROM orders WHERE status = 'paid'")) >= BACKLOG / 4 ? true : undefined), 60_000, "a quarter paid");
  await cluster.stop(a, "SIGKILL");
  const heldByTheDead = (
    await orders.query<{ id: string }>("SELECT id FROM orders WHERE status = 'pending' AND leased_by = $1", [instanceOf(a)])
  ).rows.map((row) => row.id);
  // the kill came in the middle of a's work: it held orders, which only b can settle now
  expect(heldByTheDead.length).toBeGreaterThan(0);
  const startedAt = Date.now();
  await eventually(async () => ((await count("SELECT count(*) FROM orders WHERE status = 'paid'")) === BACKLOG ? true : undefined), 90_000, "every order paid");
  console.log(`${BACKLOG} orders: ${heldByTheDead.length} held by the killed instance, all paid ${Date.now() - startedAt} ms after the kill`);

  // one charge per order, the one the order names
  const charged = (await payments.query<{ id: string; order_id: string }>("SELECT id, order_id FROM charges")).rows;
  const paid = (await orders.query<{ id: string; charge_id: string; status: string }>("SELECT id, charge_id, status FROM orders")).rows;
  expect(paid).toHaveLength(BACKLOG);
  expect(new Set(paid.map((order) => order.id))).toEqual(new Set(created));
  expect(charged).toHaveLength(BACKLOG);
  const chargeOf = new Map(charged.map((charge) => [charge.order_id, charge.id]));
  expect(chargeOf.size).toBe(BACKLOG);
  for (const order of paid) expect(chargeOf.get(order.id)).toBe(order.charge_id);

  // no two attempts at one order met at payment-service
  const statuses = cluster.events("http.request", "payment").filter((line) => line.path === "/charge").map((line) => line.status);
  expect(statuses.filter((status) => status === 409)).toEqual([]);
  // both worked on the backlog, and what a held when it died was settled by b once a's leases ran out
  expect(cluster.events("order.settled", "order-a").length).toBeGreaterThan(0);
  const settledByB = new Set(cluster.events("order.settled", "order-b").map((line) => line.order_id));
  expect(heldByTheDead.filter((id) => !settledByB.has(id))).toEqual([]);
  // each instance keeps its own token cache: one token request per instance
  for (const label of ["creator", "order-a", "order-b"]) expect(cluster.events("token.fetched", label).length).toBeLessThanOrEqual(1);
}, 240_000);

async function count(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await orders.query<{ count: string }>(sql, params)).rows[0]!.count);
}
