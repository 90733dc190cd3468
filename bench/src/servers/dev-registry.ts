/**
 * The contract's development registry, as the competitor servers are
 * configured with it: same clients, secrets, scopes and audience as ours.
 */
export const PAYMENT_RESOURCE = "https://payment.internal";
export const PAYMENT_AUDIENCE = "payment-service";
export const CHARGE_SCOPE = "charge:customer";

export const DEV_CLIENTS = [
  { clientId: "order-service", secret: "super-secret", scope: "charge:customer" },
  { clientId: "reporting-service", secret: "reporting-secret", scope: "charge:read" },
] as const;
