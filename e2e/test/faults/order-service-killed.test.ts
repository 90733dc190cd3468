import { expect, it } from "vitest";
import { eventually, send } from "../support.js";
import { useFaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderIds, placeOrder, placeOrders, pool, storedOrderIds, waitUntilSettled } from "./orders.js";

// Issue 3, fault 5: order-service is killed (SIGKILL) while it holds pending
// orders, and restarted.
const faultStack = useFaultStack(FAST_RECOVERY);

it("pending orders survive a crash of order-service and settle after its restart", async () => {
  const stack = faultStack();
  expect((await placeOrder(stack.urls.order)).status).toBe(201);

  // payment-service away: the orders stay pending, and the worker retries them.
  await stack.stop("payment-service");
  const replies = await placeOrders(stack.urls.order, 10, 5);
  for (const reply of replies) expect(`${reply.status} ${reply.body?.status}`).toBe("202 pending");
  const ids = orderIds(replies);

  await stack.stop("order-service", "SIGKILL");
  await stack.start("payment-service");
  // Nothing can settle them while order-service is gone.
  expect(stack.events("payment-service", "charge.created").filter((line) => ids.includes(line.order_id as string))).toEqual([]);

  await stack.start("order-service");
  for (const id of ids) expect((await send(`${stack.urls.order}/orders/${id}`)).status, `order ${id} after the restart`).toBe(200);
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  expectPaidExactlyOnce(orders, readLedger(stack.dataDir("payment-service")));
}, 60_000);

it("a crash in the middle of a burst, with charges in flight, loses no order and charges none twice", async () => {
  const stack = faultStack();
  const before = new Set(storedOrderIds(stack.dataDir("order-service")));
  const charged = stack.events("payment-service", "charge.created").length;
  const burst = pool(200, 10, () => placeOrder(stack.urls.order).catch(() => undefined));
  await eventually(async () => (stack.events("payment-service", "charge.created").length >= charged + 20 ? true : undefined), 30_000, "charges to flow");
  await stack.stop("order-service", "SIGKILL");
  const replies = await burst;
  expect(replies.some((reply) => reply === undefined), "requests cut off by the crash").toBe(true);

  await stack.start("order-service");
  // Every order it committed, answered or not, logged or not.
  const ids = storedOrderIds(stack.dataDir("order-service")).filter((id) => !before.has(id));
  for (const reply of replies) if (reply) expect(ids).toContain(reply.body.id);
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  const ledger = readLedger(stack.dataDir("payment-service"));
  expectPaidExactlyOnce(orders, ledger);
  expect(ledger.filter((charge) => !before.has(charge.orderId))).toHaveLength(ids.length);
}, 60_000);
