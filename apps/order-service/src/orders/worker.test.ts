import { join } from "node:path";
import { silentLogger } from "@m2m/service-kit";
import { afterEach, describe, it } from "vitest";
import { tempDir } from "../../test/support/stand-ins.js";
import type { ChargeOutcome, PaymentClient } from "./payment-client.js";
import { Settler } from "./settler.js";
import { SqliteOrderBook } from "./sqlite-order-book.js";
import { SettlementWorker } from "./worker.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Charges that wait until the test lets them go, each paid with a charge named after its order. */
function heldCharges() {
  const waiting = new Map<string, (outcome: ChargeOutcome) => void>();
  const charge: PaymentClient["charge"] = (order) => new Promise((resolve) => waiting.set(order.id, resolve));
  const releaseAll = () => {
    for (const [id, resolve] of waiting) resolve({ kind: "paid", chargeId: `ch_${id}` });
    waiting.clear();
  };
  return { charge, waiting, releaseAll };
}

async function setup(charge: PaymentClient["charge"]) {
  const dir = tempDir();
  const store = new SqliteOrderBook(join(dir.path, "orders.db"));
  const settler = new Settler({ store, payments: { charge, close() {} }, logger: silentLogger() });
  const worker = new SettlementWorker({ store, settler, logger: silentLogger(), pollIntervalMs: 10 });
  cleanup.push(async () => {
    await settler.stop(); // aborts the charges still held, so the worker's attempts end
    await worker.stop();
    await store.close();
    dir.remove();
  });
  const place = async (at: number) => {
    const created = await store.create({ customerId: "c", amount: 100, currency: "EUR" }, undefined, at);
    if (created.kind !== "created") throw new Error("not created");
    return created.order.id;
  };
  return { store, settler, worker, place };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 3_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("SettlementWorker", () => {
  it("starts an order that falls due while its slots hold older orders still pending: their attempts in flight never hide it", async () => {
    const charges = heldCharges();
    const { store, worker, place } = await setup(charges.charge);
    const older = await Promise.all(Array.from({ length: 15 }, (_, i) => place(1_000 + i)));
    worker.start();
    await until("15 attempts in flight", () => charges.waiting.size === 15);

    // one slot is free; the oldest due orders are the 15 in flight, still pending
    const late = await place(2_000);
    await until("the late order's attempt", () => charges.waiting.has(late));

    charges.releaseAll();
    for (const id of [...older, late]) await until(`order ${id} paid`, async () => (await store.get(id))?.status === "paid");
  });

});
