import { join } from "node:path";
import Database from "better-sqlite3";
import { silentLogger } from "@m2m/service-kit";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/stand-ins.js";
import type { ChargeOutcome, PaymentClient } from "./payment-client.js";
import { Settler } from "./settler.js";
import { SqliteOrderBook } from "./sqlite-order-book.js";

const cleanup: (() => void)[] = [];
const NOW = 1_700_000_000_000;
afterEach(() => cleanup.splice(0).forEach((f) => f()));

async function setup(charge: PaymentClient["charge"]) {
  const dir = tempDir();
  const file = join(dir.path, "orders.db");
  const store = new SqliteOrderBook(file);
  cleanup.push(() => {
    void store.close();
    dir.remove();
  });
  const settler = new Settler({ store, payments: { charge, close() {} }, logger: silentLogger(), clock: () => NOW, random: () => 0.5, baseDelayMs: 1_000, maxDelayMs: 8_000 });
  const created = await store.create({ customerId: "c", amount: 100, currency: "EUR" }, undefined, 1_000);
  if (created.kind !== "created") throw new Error("not created");
  const nextAttemptAt = () => {
    const db = new Database(file, { readonly: true });
    try {
      return (db.prepare("SELECT next_attempt_at AS at FROM orders").get() as { at: number }).at;
    } finally {
      db.close();
    }
  };
  return { store, settler, id: created.order.id, nextAttemptAt };
}

describe("Settler", () => {
  it("never runs two attempts for one order at once: a second caller joins the first", async () => {
    let calls = 0;
    let finish!: (outcome: ChargeOutcome) => void;
    const { store, settler, id } = await setup(() => {
      calls += 1;
      return new Promise((resolve) => (finish = resolve));
    });
    const first = settler.settle(id);
    const second = settler.settle(id);
    expect(second).toBe(first);
    expect(settler.isSettling(id)).toBe(true);
    // the attempt reads the order first (the store is asynchronous), then charges
    while (calls === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    finish({ kind: "paid", chargeId: "ch_1" });
    await first;
    expect(calls).toBe(1);
    expect(await store.get(id)).toMatchObject({ status: "paid", chargeId: "ch_1" });
  });

  it("never settles an order twice", async () => {
    let calls = 0;
    const { store, settler, id } = await setup(async () => {
      calls += 1;
      return { kind: "failed", reason: "card_declined" };
    });
    await settler.settle(id);
    await settler.settle(id);
    expect(calls).toBe(1);
    expect(await store.get(id)).toMatchObject({ status: "payment_failed", reason: "card_declined" });
  });

  it("schedules the next attempt with growing, capped backoff, and at least Retry-After", async () => {
    const outcomes: ChargeOutcome[] = [
      { kind: "retry", reason: "payment_service_unreachable" },
      { kind: "retry", reason: "payment_service_unreachable" },
      { kind: "retry", reason: "payment_service_unreachable" },
      { kind: "retry", reason: "payment_service_unreachable" },
      { kind: "retry", reason: "payment_service_503", retryAfterSeconds: 20 },
    ];
    const { store, settler, id, nextAttemptAt } = await setup(async () => outcomes.shift()!);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      await settler.settle(id);
      waits.push(nextAttemptAt() - NOW);
      expect((await store.get(id))!.attempts).toBe(i + 1);
    }
    // ceilings 1s, 2s, 4s, 8s, 8s (capped), drawn at 0.5; the last honours Retry-After
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 20_000]);
    expect((await store.get(id))!.status).toBe("pending");
  });

  it("leaves the order pending when stopped mid-attempt", async () => {
    const { store, settler, id } = await setup(() => new Promise(() => {}));
    const attempt = settler.settle(id);
    await settler.stop();
    expect((await attempt)?.status).toBe("pending");
    expect((await store.get(id))!.status).toBe("pending");
  });
});
