import { afterAll, beforeAll, expect, it } from "vitest";
import { send } from "../support.js";
import { FaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderIds, placeOrder, placeOrders, waitUntilSettled } from "./orders.js";

// Issue 3, fault 5: order-service is killed (SIGKILL) while it holds pending
// orders, and restarted.
let stack: FaultStack;
beforeAll(async () => {
  stack = await FaultStack.create(FAST_RECOVERY);
  await stack.startAll();
});
afterAll(async () => {
  await stack?.dispose();
});

it("pending orders survive a crash of order-service and settle after its restart", async () => {
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
