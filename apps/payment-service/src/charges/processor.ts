import type { ChargeRequest } from "./charge.js";

/** The processor's answer for one charge. */
export type Authorization = { approved: true } | { approved: false; reason: string };

/**
 * Who decides whether a charge goes through. Asynchronous, as a real card
 * processor is: while its answer is awaited, the charge is "in progress", and
 * a retry with the same `Idempotency-Key` gets `409 idempotency_key_in_use`.
 */
export interface CardProcessor {
  authorize(request: ChargeRequest): Promise<Authorization>;
}

/** The contract's processor: anything above `limit` minor units is declined. */
export function limitProcessor(limit: number): CardProcessor {
  return {
    async authorize(request) {
      return request.amount > limit
        ? { approved: false, reason: `the amount is above the limit of ${limit}` }
        : { approved: true };
    },
  };
}
