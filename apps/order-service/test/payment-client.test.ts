import { silentLogger } from "@m2m/service-kit";
import type { TokenSource } from "@m2m/token-client";
import { afterEach, describe, expect, it } from "vitest";
import type { Order } from "../src/orders/order.js";
import { createPaymentClient, type PaymentClient, type PaymentClientOptions } from "../src/orders/payment-client.js";
import { StandIn } from "./support/stand-ins.js";

// The numbers: one byte every 1.5 s against a 2 s deadline. The
// client's old 10 s timeout was an idle one, which such a server never trips.
const TRICKLE_MS = 1_500;
const DEADLINE_MS = 2_000;
/** What the machine may add to the deadline: timers, connecting, a busy CI. */
const SLACK_MS = 1_000;

const order: Order = {
  id: "ord_trickle",
  customerId: "cus_42",
  amount: 1299,
  currency: "EUR",
  status: "pending",
  createdAt: "2024-01-01T00:00:00.000Z",
  updatedAt: "2024-01-01T00:00:00.000Z",
};

const tokens: TokenSource = {
  getToken: async () => ({ accessToken: "tok-1", tokenType: "Bearer", expiresAt: Number.MAX_SAFE_INTEGER, scope: undefined }),
  invalidate: () => {},
};

/** payment-service answering `201` with a charge, one byte every 1.5 s. */
function tricklingPaymentService(): { standIn: StandIn; requests: number } {
  const state = { standIn: undefined as unknown as StandIn, requests: 0 };
  state.standIn = new StandIn((_req, res) => {
    state.requests += 1;
    const body = JSON.stringify({ id: "ch_1", orderId: order.id, status: "succeeded", amount: order.amount, currency: order.currency });
    res.writeHead(201, { "content-type": "application/json", "content-length": String(body.length) });
    let sent = 0;
    const writeOne = () => {
      if (res.destroyed) return clearInterval(timer);
      res.write(body[sent]);
      if (++sent === body.length) {
        clearInterval(timer);
        res.end();
      }
    };
    const timer = setInterval(writeOne, TRICKLE_MS);
    res.on("close", () => clearInterval(timer));
    writeOne();
  });
  return state;
}

/** How `promise` settles within `ms`: its value or error and the time taken, or `"still waiting"`. */
async function settleWithin<T>(promise: Promise<T>, ms: number) {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"still waiting">((resolve) => (timer = setTimeout(() => resolve("still waiting"), ms)));
  const settled = promise.then(
    (value) => ({ value, elapsedMs: performance.now() - started }),
    (error: unknown) => ({ error, elapsedMs: performance.now() - started }),
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function start(options: Partial<PaymentClientOptions> = {}): Promise<{ payments: PaymentClient; service: ReturnType<typeof tricklingPaymentService> }> {
  const service = tricklingPaymentService();
  await service.standIn.start();
  cleanup.push(() => service.standIn.stop());
  const payments = createPaymentClient({ baseUrl: service.standIn.url, tokens, token: { audience: "payment-service" }, logger: silentLogger(), ...options });
  cleanup.push(() => payments.close());
  return { payments, service };
}

describe("the total deadline of a charge", () => {
  it("hardening #8: a payment-service trickling one byte every 1.5 s is given up on within the 2 s deadline, and the order is retried later", async () => {
    const { payments, service } = await start({ chargeTimeoutMs: DEADLINE_MS });

    const outcome = await settleWithin(payments.charge(order), DEADLINE_MS + SLACK_MS);

    expect(outcome).toMatchObject({ value: { kind: "retry", reason: "payment_service_timeout" } });
    expect((outcome as { elapsedMs: number }).elapsedMs).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(service.requests).toBe(1);
  });

  it("still ends the charge at once when the caller's signal aborts, with its reason", async () => {
    const { payments, service } = await start({ chargeTimeoutMs: DEADLINE_MS });
    const shutdown = new AbortController();

    const pending = settleWithin(payments.charge(order, shutdown.signal), DEADLINE_MS);
    setTimeout(() => shutdown.abort(new Error("shutting down")), 100);
    const outcome = await pending;

    expect(outcome).toMatchObject({ error: new Error("shutting down") });
    expect((outcome as { elapsedMs: number }).elapsedMs).toBeLessThan(DEADLINE_MS / 2);
    expect(service.requests).toBe(1);
  });
});
