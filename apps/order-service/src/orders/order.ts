import { createHash } from "node:crypto";

/** The states of an order. `pending` until the charge is known to have succeeded or failed. */
export type OrderStatus = "pending" | "paid" | "payment_failed";

/** What a caller asks for (`POST /orders`). */
export interface OrderRequest {
  customerId: string;
  /** Minor units (cents), a positive integer. */
  amount: number;
  /** ISO 4217 alphabetic code. */
  currency: string;
}

export interface Order extends OrderRequest {
  id: string;
  status: OrderStatus;
  /** payment-service's charge id, once paid. */
  chargeId?: string;
  /** Why the payment failed (`card_declined`, `invalid_client`...). */
  reason?: string;
  createdAt: string;
  updatedAt: string;
}

/** What "the same request" means for an `Idempotency-Key`: the same three fields. */
export function hashOrderRequest(request: OrderRequest): string {
  return createHash("sha256").update(JSON.stringify([request.customerId, request.amount, request.currency])).digest("hex");
}
