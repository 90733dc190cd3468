/**
 * The contract's development registry, as the competitor servers are
 * configured with it: same clients, secrets, scopes and audience as ours.
 */
export const PAYMENT_RESOURCE = "https://payment.internal";
export const PAYMENT_AUDIENCE = "payment-service";
export const CHARGE_SCOPE = "charge:customer";

/**
 * The client every bench token is issued to. The servers without auth
 * charge for it too, so every ledger writes the same rows (a charge and its
 * idempotency key are stored under the client) and only the guard differs.
 */
export const BENCH_CLIENT = "order-service";

export const DEV_CLIENTS = [
  { clientId: "order-service", secret: "super-secret", scope: "charge:customer" },
  { clientId: "reporting-service", secret: "reporting-secret", scope: "charge:read" },
] as const;
