import { randomBytes } from "node:crypto";
import { activeSpan, describeSpan, HttpError, type JsonReply, type Logger } from "@m2m/service-kit";
import type { ChargeOutcome } from "../metrics.js";
import { chargeCreatedBody, chargeView, type Charge } from "./charge.js";
import type { CardProcessor } from "./processor.js";
import type { KeyHold, Ledger, StoredResponse } from "./ledger.js";
import { parseChargeRequest, requestFingerprint, requiredIdempotencyKey } from "./validate.js";

export interface ChargesDeps {
  ledger: Ledger;
  processor: CardProcessor;
  logger: Logger;
  /** Milliseconds since the epoch, for `createdAt`. Default `Date.now`. */
  clock?: () => number;
  /** Called for every charge recorded or replayed (count charges here). */
  onOutcome?: (outcome: ChargeOutcome) => void;
}

/** A `POST /charge` as the HTTP layers hand it over, authentication already done. */
export interface ChargeAttempt {
  /** The client the charge is for (the token's `client_id`); idempotency keys are scoped to it. */
  clientId: string;
  /** The `Idempotency-Key` header as sent. */
  idempotencyKey: string | undefined;
  /** The parsed JSON body. */
  body: unknown;
}

/**
 * `POST /charge` and `GET /charges/:id` (the wire contract) without HTTP
 * and without authentication: the routes check the token, then call these.
 *
 * Idempotency (draft-ietf-httpapi-idempotency-key-header): a key belongs to
 * the client that used it (the token's `client_id`). The first request with a
 * key is charged, and the charge, the key, the request fingerprint and the
 * response are written in one transaction; the same key with the same request
 * gets that response again (same charge id, also after a restart, and at any
 * instance sharing the ledger), with another request `422
 * idempotency_key_reused`, and while the first is still with the processor
 * `409 idempotency_key_in_use` (at another instance: whatever the body,
 * since only the instance processing it knows the first request).
 */
export class Charges {
  /** Keys whose first request is with the processor now, and that request's fingerprint. */
  private readonly inProgress = new Map<string, string>();
  private readonly clock: () => number;

  constructor(private readonly deps: ChargesDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Charges once per (client, key); throws `HttpError`s for the client's mistakes. */
  async create(attempt: ChargeAttempt): Promise<JsonReply> {
    const { ledger, processor, logger } = this.deps;
    const key = requiredIdempotencyKey(attempt.idempotencyKey);
    const request = parseChargeRequest(attempt.body);
    const { clientId } = attempt;
    const fingerprint = requestFingerprint(request);

    // held here first, with the first request's fingerprint: a second one here gets 409 or 422 at once
    const lock = `${clientId}\n${key}`;
    const running = this.inProgress.get(lock);
    if (running !== undefined) throw running === fingerprint ? keyInUse() : keyReused();

    this.inProgress.set(lock, fingerprint);
    let hold: KeyHold | undefined;
    try {
      // then against every other instance sharing the ledger, which also says whether the key was recorded
      hold = await ledger.hold(clientId, key);
      if (hold === undefined) throw keyInUse();
      if (hold.existing) return this.replay(hold.existing, fingerprint);
      const decision = await processor.authorize(request);
      const charge: Charge = {
        id: newChargeId(),
        ...request,
        status: decision.approved ? "succeeded" : "declined",
        clientId,
        createdAt: new Date(this.clock()).toISOString(),
      };
      const response = decision.approved
        ? { status: 201, body: chargeCreatedBody(charge) }
        : { status: 402, body: { error: "card_declined", error_description: decision.reason } };
      const result = await hold.record({ charge, idempotencyKey: key, fingerprint, response });
      if (!result.created) return this.replay(result.existing, fingerprint);
      logger.info(
        { charge_id: charge.id, order_id: charge.orderId, amount: charge.amount, currency: charge.currency, status: charge.status },
        "charge.created",
      );
      this.deps.onOutcome?.(charge.status);
      describeSpan(activeSpan(), () => ({
        "charge.id": charge.id,
        "charge.status": charge.status,
        "charge.amount": charge.amount,
        "charge.currency": charge.currency,
        "order.id": charge.orderId,
      }));
      return response;
    } finally {
      await hold?.release();
      this.inProgress.delete(lock);
    }
  }

  /** `GET /charges/:id`: the charge, or `404 not_found`. */
  async view(id: string): Promise<JsonReply> {
    const charge = await this.deps.ledger.getCharge(id);
    if (!charge) throw new HttpError(404, "not_found", "no such charge");
    return { status: 200, body: chargeView(charge) };
  }

  private replay(stored: StoredResponse, fingerprint: string): JsonReply {
    if (stored.fingerprint !== fingerprint) throw keyReused();
    this.deps.logger.info({ charge_id: stored.chargeId, order_id: stored.orderId }, "charge.replayed");
    this.deps.onOutcome?.("replayed");
    describeSpan(activeSpan(), () => ({ "charge.id": stored.chargeId, "charge.status": "replayed", "order.id": stored.orderId }));
    return { status: stored.status, body: stored.body, headers: { "Idempotent-Replayed": "true" } };
  }
}

function newChargeId(): string {
  return `ch_${randomBytes(16).toString("base64url")}`;
}

function keyReused(): HttpError {
  return new HttpError(422, "idempotency_key_reused", "this Idempotency-Key was used with a different request");
}

function keyInUse(): HttpError {
  return new HttpError(409, "idempotency_key_in_use", "a request with this Idempotency-Key is still being processed");
}
