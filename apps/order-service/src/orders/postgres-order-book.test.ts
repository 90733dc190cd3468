import { migrate, openPostgres } from "@m2m/store-kit";
import { startPostgres, storeServersMissing, type TestPostgres } from "@m2m/store-kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR } from "../server.js";
import { PostgresOrderBook } from "./postgres-order-book.js";

// Two order books on one real PostgreSQL, as two instances would have them.

let postgres: TestPostgres;
const books: PostgresOrderBook[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(books.map((book) => book.close()));
  await postgres?.dispose();
});

async function twoInstances(name: string, leaseMs = 30_000): Promise<[PostgresOrderBook, PostgresOrderBook]> {
  const url = await postgres.database(name);
  const open = async (id: string) => {
    const pool = openPostgres(url, { applicationName: id });
    await migrate(pool, { app: "order-service", dir: MIGRATIONS_DIR });
    const book = new PostgresOrderBook(pool, { instanceId: id, leaseMs });
    books.push(book);
    return book;
  };
  return Promise.all([open("a"), open("b")]);
}

const order = { customerId: "cus_1", amount: 1299, currency: "EUR" };

describe.skipIf(storeServersMissing())("PostgresOrderBook", () => {
  it("hands each due order to one instance, however the two race for the queue", async () => {
    const [a, b] = await twoInstances("claims");
    for (let i = 0; i < 200; i++) await a.reschedule((await createFree(a)).id, 0, "test", 0);
    const claimed = (await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claimDue(Date.now(), 15)))).flat();
    const ids = claimed.map((o) => o.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(200);
    expect(await a.claimDue(Date.now(), 10)).toEqual([]);
  });

  it("holds a new order for the instance that created it, and lets another take it once the lease ends", async () => {
    const [a, b] = await twoInstances("leases", 11_000);
    const created = await a.create(order, undefined, Date.now());
    const id = created.kind === "created" ? created.order.id : "";
    expect(await b.claimDue(Date.now(), 10)).toEqual([]);
    const later = await b.claimDue(Date.now() + 11_000, 10);
    expect(later.map((o) => o.id)).toEqual([id]);
    // a's late reschedule does not steal it back
    await a.reschedule(id, Date.now() + 60_000, "late", Date.now());
    expect((await b.get(id))!.attempts).toBe(0);
  });

  it("keeps one order per Idempotency-Key when two instances get the same POST at once", async () => {
    const [a, b] = await twoInstances("keys");
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).create(order, "same-key", Date.now())));
    expect(results.filter((r) => r.kind === "created")).toHaveLength(1);
    expect(new Set(results.map((r) => (r.kind === "conflict" ? "" : r.order.id))).size).toBe(1);
    expect((await b.create({ ...order, amount: 1 }, "same-key", Date.now())).kind).toBe("conflict");
  });

  it("never claims an order this instance is attempting already, and leaves it unheld", async () => {
    const [a] = await twoInstances("skips");
    const [first, second] = [await createFree(a), await createFree(a)];
    expect((await a.claimDue(Date.now(), 10, [first.id])).map((o) => o.id)).toEqual([second.id]);
    // the one skipped was not leased: it is still there to claim
    expect((await a.claimDue(Date.now(), 10)).map((o) => o.id)).toEqual([first.id]);
  });

  it("hands its orders over at once when it closes cleanly", async () => {
    const [a, b] = await twoInstances("handover");
    const created = await a.create(order, undefined, Date.now());
    await a.close();
    expect((await b.claimDue(Date.now(), 10)).map((o) => o.id)).toEqual([created.kind === "created" ? created.order.id : ""]);
  });
});

/** An order created and let go of at once, as if its first attempt had failed. */
async function createFree(book: PostgresOrderBook) {
  const result = await book.create(order, undefined, 0);
  if (result.kind !== "created") throw new Error("not created");
  return result.order;
}
