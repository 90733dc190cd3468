import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/stand-ins.js";
import { SqliteOrderBook } from "./sqlite-order-book.js";

const cleanup: (() => void)[] = [];
afterEach(() => cleanup.splice(0).forEach((f) => f()));

function openStore() {
  const dir = tempDir();
  const file = join(dir.path, "orders.db");
  const stores: SqliteOrderBook[] = [];
  cleanup.push(() => {
    stores.forEach((s) => s.close());
    dir.remove();
  });
  return () => {
    const store = new SqliteOrderBook(file);
    stores.push(store);
    return store;
  };
}

const order = (amount = 1299) => ({ customerId: "cus_1", amount, currency: "EUR" });

describe("SqliteOrderBook", () => {
  it("commits the creations of one event-loop turn together, and a failing one fails alone", async () => {
    const open = openStore();
    const store = open();
    // amount 0 breaks the table's CHECK: that order's savepoint is undone, not the group
    const results = await Promise.allSettled([store.create(order(), undefined, 1), store.create(order(0), undefined, 1), store.create(order(5), undefined, 1)]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    const ids = results.flatMap((r) => (r.status === "fulfilled" && r.value.kind === "created" ? [r.value.order.id] : []));
    await store.close();

    const reopened = open();
    expect(await Promise.all(ids.map(async (id) => (await reopened.get(id))?.status))).toEqual(["pending", "pending"]);
    expect(await reopened.claimDue(Number.MAX_SAFE_INTEGER, 10)).toHaveLength(2);
  });

  it("sees an Idempotency-Key used earlier in the same group", async () => {
    const store = openStore()();
    const [first, second, third] = await Promise.all([
      store.create(order(), "key-1", 1),
      store.create(order(), "key-1", 1),
      store.create(order(7), "key-1", 1),
    ]);
    expect(first!.kind).toBe("created");
    expect(second).toEqual({ kind: "replayed", order: first!.kind === "created" ? first!.order : undefined });
    expect(third).toEqual({ kind: "conflict" });
  });

  it("keeps the orders accepted just before it closes", async () => {
    const open = openStore();
    const store = open();
    const creating = store.create(order(), "late", 1);
    void store.close();
    const result = await creating;
    expect(result.kind).toBe("created");
    expect((await open().get(result.kind === "created" ? result.order.id : ""))?.status).toBe("pending");
  });

  it("settles a pending order once, and never changes it again", async () => {
    const store = openStore()();
    const created = await store.create(order(), undefined, 1);
    const id = created.kind === "created" ? created.order.id : "";
    expect(await store.settle(id, { status: "paid", chargeId: "ch_1" }, 2)).toBe(true);
    expect(await store.settle(id, { status: "payment_failed", reason: "card_declined" }, 3)).toBe(false);
    await store.reschedule(id, 99, "late", 4);
    expect(await store.get(id)).toMatchObject({ status: "paid", chargeId: "ch_1", attempts: 0 });
    expect(await store.claimDue(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });
});
