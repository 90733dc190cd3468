import { join } from "node:path";
import Database from "better-sqlite3";
import { postJson, send, type Reply } from "../support.js";

/** An order as `GET /orders/:id` shows it (docs/wire-contract.md, order-service). */
export interface Order {
  id: string;
  status: "pending" | "paid" | "payment_failed";
  chargeId?: string;
  reason?: string;
  amount: number;
  currency: string;
}

export const orderBody = (amount = 1299) => ({ customerId: "cus_faults", amount, currency: "EUR" });

export function placeOrder(orderUrl: string, amount = 1299): Promise<Reply> {
  return postJson(`${orderUrl}/orders`, orderBody(amount));
}

/** Runs `task(0..count-1)` with at most `concurrency` in flight; results in index order. */
export async function pool<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < count; index = next++) results[index] = await task(index);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** `POST /orders` `count` times from `concurrency` callers. */
export function placeOrders(orderUrl: string, count: number, concurrency: number): Promise<Reply[]> {
  return pool(count, concurrency, () => placeOrder(orderUrl));
}

/** The ids of the orders in a set of `POST /orders` replies; fails on a reply that is not an order. */
export function orderIds(replies: Reply[]): string[] {
  return replies.map((reply) => {
    if (![201, 202].includes(reply.status) || typeof reply.body?.id !== "string") {
      throw new Error(`POST /orders answered ${reply.status} ${JSON.stringify(reply.body)}`);
    }
    return reply.body.id as string;
  });
}

/**
 * Polls `GET /orders/:id` until none of `ids` is pending any more, and
 * returns them all. Fails after `timeoutMs` with a count per status.
 */
export async function waitUntilSettled(orderUrl: string, ids: string[], timeoutMs: number): Promise<Map<string, Order>> {
  const orders = new Map<string, Order>();
  const deadline = Date.now() + timeoutMs;
  let unsettled = [...ids];
  for (;;) {
    const seen = await pool(unsettled.length, 20, async (index) => {
      const id = unsettled[index] as string;
      try {
        const res = await send(`${orderUrl}/orders/${id}`);
        if (res.status === 200) orders.set(id, res.body as Order);
        return res.status === 200 && res.body.status !== "pending" ? undefined : id;
      } catch {
        return id; // order-service is down or restarting: ask again
      }
    });
    unsettled = seen.filter((id): id is string => id !== undefined);
    if (unsettled.length === 0) return orders;
    if (Date.now() > deadline) {
      const counts: Record<string, number> = {};
      for (const id of ids) {
        const status = orders.get(id)?.status ?? "unknown";
        counts[status] = (counts[status] ?? 0) + 1;
      }
      throw new Error(`${unsettled.length} of ${ids.length} orders still unsettled after ${timeoutMs} ms: ${JSON.stringify(counts)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The ids of every order order-service has stored, read from its SQLite file
 * (`orders.db`, apps/order-service/src/server.ts) read-only. The ground
 * truth after a crash: an order committed just before a SIGKILL may have
 * neither answered its caller nor logged `order.created`.
 */
export function storedOrderIds(dataDir: string): string[] {
  const db = new Database(join(dataDir, "orders.db"), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT id FROM orders").all() as { id: string }[]).map((row) => row.id);
  } finally {
    db.close();
  }
}
