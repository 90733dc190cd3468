// Property-based tests (fast-check) of POST /orders over HTTP, the service
// in-process on 127.0.0.1 against stand-ins of the auth server and the
// payment service: any JSON body, any Idempotency-Key. Properties: never a
// 5xx; a refused order is not stored (orders.db does not grow); the same
// order written another way under the same Idempotency-Key is the same
// order. A failure prints fast-check's seed.
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { startOrderService, type RunningOrderService } from "../src/server.js";
import { capturingLogger, startAuthStandIn, startPaymentStandIn, tempDir } from "./support/stand-ins.js";

// PROPERTY_RUNS_SCALE shrinks every run count
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;

let auth: Awaited<ReturnType<typeof startAuthStandIn>>;
let payment: Awaited<ReturnType<typeof startPaymentStandIn>>;
let data: ReturnType<typeof tempDir>;
let service: RunningOrderService;
let orders: Database.Database;
beforeAll(async () => {
  auth = await startAuthStandIn();
  payment = await startPaymentStandIn(auth);
  data = tempDir();
  const config = loadConfig({ PORT: "0", AUTH_SERVER_URL: auth.url, PAYMENT_SERVICE_URL: payment.url, DATA_DIR: data.path, SETTLE_WAIT_MS: "0" });
  service = await startOrderService(config, { logger: capturingLogger().logger });
  orders = new Database(join(data.path, "orders.db"), { readonly: true, fileMustExist: true });
});
afterAll(async () => {
  orders?.close();
  await service?.close();
  await Promise.all([auth?.stop(), payment?.stop()]);
  data?.remove();
});

const stored = () => (orders.prepare("SELECT COUNT(*) AS n FROM orders").get() as { n: number }).n;

async function post(body: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${service.url}/orders`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
  const text = await res.text();
  return { status: res.status, text };
}

const bodies = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        customerId: fc.oneof(fc.constant("cus_1"), fc.string({ maxLength: 140 }), fc.jsonValue()),
        amount: fc.oneof(fc.integer(), fc.double(), fc.constant(1299), fc.jsonValue()),
        currency: fc.oneof(fc.constantFrom("EUR", "eur", "XXX", "ABC"), fc.string({ maxLength: 4 }), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
);
const keys = fc.option(
  fc.string({ unit: "binary-ascii", maxLength: 300 }).filter((value) => /^[\t\x20-\x7e]*$/.test(value) && value.trim() === value),
  { nil: undefined },
);

describe("POST /orders, any request", () => {
  it("answers any body and Idempotency-Key without a 5xx, and stores no order it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(bodies, keys, async (body, key) => {
        const before = stored();
        const res = await post(body, key === undefined ? {} : { "idempotency-key": key });
        expect(res.status, `${body} ${JSON.stringify(key)}: ${res.text}`).toBeLessThan(500);
        if (res.status >= 400) expect(stored(), body).toBe(before);
        else expect([200, 201, 202]).toContain(res.status);
      }),
      { numRuns: runs(800) },
    );
  }, PROPERTY_TIMEOUT);

  it("answers the same order written another way, under the same Idempotency-Key, with the same order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom("EUR", "USD"), fc.boolean(), fc.constantFrom("", " ", "\n\t"), fc.uuid(), async (amount, currency, reverse, space, key) => {
        const order = { customerId: "cus_1", amount, currency };
        const entries = reverse ? Object.entries(order).reverse() : Object.entries(order);
        const respelled = `{${space}${entries.map(([k, v]) => `${JSON.stringify(k)}${space}:${space}${JSON.stringify(v)}`).join(`,${space}`)}}`;
        const first = await post(JSON.stringify(order), { "idempotency-key": key });
        const before = stored();
        const again = await post(respelled, { "idempotency-key": key });
        expect(first.status, first.text).toBeLessThan(300);
        expect(again.status).toBeLessThan(300);
        expect((JSON.parse(again.text) as { id: string }).id).toBe((JSON.parse(first.text) as { id: string }).id);
        expect(stored(), "the same order, not a second one").toBe(before);
      }),
      { numRuns: runs(100) },
    );
  }, PROPERTY_TIMEOUT);
});
