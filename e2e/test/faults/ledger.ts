import { existsSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { expect } from "vitest";
import type { Order } from "./orders.js";

// the ledger's file under payment-service's DATA_DIR (apps/payment-service/src/server.ts)
const LEDGER_FILE = "payments.db";

/** One row of payment-service's ledger. */
export interface LedgerCharge {
  id: string;
  orderId: string;
  status: string;
}

/**
 * Every charge payment-service has recorded, read straight from its SQLite
 * file (read-only, so a running payment-service is not disturbed). This is
 * the ledger itself, not its logs: a charge committed just before a SIGKILL
 * is here even when its log line never got out. Schema:
 * apps/payment-service/src/charges/store.ts (`charges`).
 */
export function readLedger(dataDir: string): LedgerCharge[] {
  const file = join(dataDir, LEDGER_FILE);
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare("SELECT id, order_id AS orderId, status FROM charges").all() as LedgerCharge[];
  } finally {
    db.close();
  }
}

/**
 * Every order is paid, and the ledger holds exactly one charge for it: the
 * one the order names. `ledger` may hold other charges (earlier orders).
 */
export function expectPaidExactlyOnce(orders: Map<string, Order>, ledger: LedgerCharge[]): void {
  const byOrder = new Map<string, LedgerCharge[]>();
  for (const charge of ledger) byOrder.set(charge.orderId, [...(byOrder.get(charge.orderId) ?? []), charge]);
  const notPaid = [...orders.values()].filter((order) => order.status !== "paid");
  expect(notPaid, "orders that did not end paid").toEqual([]);
  const twice = [...byOrder.entries()].filter(([, charges]) => charges.length > 1);
  expect(twice, "order ids with more than one charge in the ledger").toEqual([]);
  for (const order of orders.values()) {
    const charges = byOrder.get(order.id) ?? [];
    expect(charges.map((charge) => charge.id), `the ledger's charges for order ${order.id}`).toEqual([order.chargeId]);
  }
}
