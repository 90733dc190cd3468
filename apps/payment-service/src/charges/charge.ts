/** A charge as the ledger keeps it. Declined charges are recorded too. */
export interface Charge {
  id: string;
  orderId: string;
  customerId: string;
  /** Minor units (cents for EUR). */
  amount: number;
  /** ISO 4217 alphabetic code. */
  currency: string;
  status: "succeeded" | "declined";
  /** The client (token `client_id`) that asked for it. */
  clientId: string;
  createdAt: string;
}

/** What a client asks for in `POST /charge` (docs/wire-contract.md). */
export interface ChargeRequest {
  orderId: string;
  customerId: string;
  amount: number;
  currency: string;
}

/** The `201` body of docs/wire-contract.md: exactly these fields. */
export function chargeCreatedBody(charge: Charge): Record<string, unknown> {
  return { id: charge.id, orderId: charge.orderId, amount: charge.amount, currency: charge.currency, status: charge.status };
}

/** `GET /charges/:id`: the whole charge, without who asked for it. */
export function chargeView(charge: Charge): Record<string, unknown> {
  return {
    id: charge.id,
    orderId: charge.orderId,
    customerId: charge.customerId,
    amount: charge.amount,
    currency: charge.currency,
    status: charge.status,
    createdAt: charge.createdAt,
  };
}
