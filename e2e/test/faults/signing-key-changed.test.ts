import { join } from "node:path";
import { decodeProtectedHeader } from "jose";
import { expect, it } from "vitest";
import { accessToken, eventually, send } from "../support.js";
import { useFaultStack } from "./fault-stack.js";
import { FAST_RECOVERY, SETTLE_TIMEOUT_MS } from "./knobs.js";
import { expectPaidExactlyOnce, readLedger } from "./ledger.js";
import { orderIds, placeOrder, pool, waitUntilSettled } from "./orders.js";

// Issue 3, fault 4: auth-server restarts with a new signing key while
// order-service still holds a token signed by the old one.
const faultStack = useFaultStack(FAST_RECOVERY);

it("orders after the key change still end paid: payment refetches the JWKS, order-service refreshes its token after the 401", async () => {
  const stack = faultStack();
  const first = await placeOrder(stack.urls.order);
  expect(first.status, JSON.stringify(first.body)).toBe(201);
  const issuedBefore = stack.tokensIssuedToOrderService();
  expect(issuedBefore).toHaveLength(1);
  const oldKid = (issuedBefore[0]?.header as { kid: string }).kid;

  // A fresh DATA_DIR: the auth server makes a new key, and knows nothing of the old one.
  await stack.stop("auth-server");
  await stack.start("auth-server", { dataDir: join(stack.dataRoot, "auth-server-new") });

  // Another client meets payment-service with a token under the new key first:
  // payment-service must fetch the JWKS again for the unknown kid, after
  // which the old key is gone from what it trusts.
  const readToken = await accessToken(stack.urls.auth, "reporting-service", "reporting-secret", "charge:read");
  const newKid = decodeProtectedHeader(readToken).kid;
  expect(newKid).not.toBe(oldKid);
  await eventually(async () => {
    const res = await send(`${stack.urls.payment}/charges/no-such-charge`, { headers: { authorization: `Bearer ${readToken}` } });
    return res.status === 404 ? true : undefined;
  }, 45_000, "payment-service to accept a token signed by the new key");
  const rejectedBefore = stack.events("payment-service", "token.rejected").length;

  // order-service still holds its token under the old key.
  const replies = await pool(5, 5, () => placeOrder(stack.urls.order));
  const statuses = replies.map((reply) => `${reply.status} ${reply.body?.status}`);
  expect(statuses.filter((status) => status !== "201 paid" && status !== "202 pending")).toEqual([]);
  const ids = orderIds(replies);
  const orders = await waitUntilSettled(stack.urls.order, ids, SETTLE_TIMEOUT_MS);
  expectPaidExactlyOnce(orders, readLedger(stack.dataDir("payment-service")));

  // The old token was refused once it was presented, and order-service
  // asked the new auth server for one token (single flight), under the new key.
  expect(stack.events("payment-service", "token.rejected").length).toBeGreaterThan(rejectedBefore);
  const issuedAfter = stack.tokensIssuedToOrderService().slice(issuedBefore.length);
  expect(issuedAfter.length).toBeGreaterThanOrEqual(1);
  expect(issuedAfter.length).toBeLessThanOrEqual(2);
  expect(issuedAfter.every((line) => (line.header as { kid: string }).kid === newKid)).toBe(true);
}, 60_000);
