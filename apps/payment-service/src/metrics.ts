import type { Registry } from "@m2m/service-kit";
import type { GuardOptions, VerifierOptions } from "@m2m/token-verifier";
import { Counter } from "prom-client";

type GuardListeners = Pick<GuardOptions, "onVerified" | "onRejected">;
type JwksListeners = Pick<VerifierOptions, "onJwksLoaded" | "onJwksError">;

/** What became of a `POST /charge` that reached the ledger. */
export type ChargeOutcome = "succeeded" | "declined" | "replayed";

/**
 * Why a request's token was refused, as a label: the RFC 6750 error code
 * (or RFC 9449's), `missing_token` for a request without one, and
 * `keys_unavailable` for a 503. A fixed set, whatever the token held.
 */
const REJECTION_REASONS: Readonly<Record<string, string>> = {
  unauthorized: "missing_token",
  invalid_request: "invalid_request",
  invalid_token: "invalid_token",
  insufficient_scope: "insufficient_scope",
  invalid_dpop_proof: "invalid_dpop_proof",
  use_dpop_nonce: "use_dpop_nonce",
  temporarily_unavailable: "keys_unavailable",
};

/**
 * payment-service's metrics, each counted from the events that also make
 * its log lines. Every label comes from a fixed set: no `client_id`, whose
 * values the authorization server's registry chooses.
 */
export class PaymentMetrics {
  private readonly verifications: Counter<"result" | "reason" | "cached">;
  private readonly jwksFetches: Counter<"result" | "reason">;
  private readonly charges: Counter<"outcome">;
  // the series every charge touches, made once: counting one then allocates nothing
  private readonly verified: Record<"true" | "false", Counter.Internal>;
  private readonly chargeSeries: Record<ChargeOutcome, Counter.Internal>;

  constructor(readonly registry: Registry) {
    this.verifications = new Counter({
      name: "oauth_token_verifications_total",
      help: "Access tokens checked at a protected route: verified (cached: the signature check was served from the cache) or rejected, by reason",
      labelNames: ["result", "reason", "cached"],
      registers: [registry],
    });
    this.jwksFetches = new Counter({
      name: "oauth_jwks_fetches_total",
      help: "Fetches of the issuer's JWK Set: loaded (reason: load, unknown-kid or max-age) or failed",
      labelNames: ["result", "reason"],
      registers: [registry],
    });
    this.charges = new Counter({
      name: "charges_total",
      help: "Charges recorded, by outcome: succeeded, declined, or replayed for a repeated Idempotency-Key",
      labelNames: ["outcome"],
      registers: [registry],
    });
    this.verified = {
      true: this.verifications.labels({ result: "verified", cached: "true" }),
      false: this.verifications.labels({ result: "verified", cached: "false" }),
    };
    this.chargeSeries = {
      succeeded: this.charges.labels({ outcome: "succeeded" }),
      declined: this.charges.labels({ outcome: "declined" }),
      replayed: this.charges.labels({ outcome: "replayed" }),
    };
  }

  /** The guard's listeners: count, then `next` (the log lines). */
  guardEvents(next: GuardListeners): GuardListeners {
    return {
      onVerified: (event) => {
        this.verified[event.token.cached ? "true" : "false"].inc();
        next.onVerified?.(event);
      },
      onRejected: (event) => {
        this.verifications.inc({ result: "rejected", reason: REJECTION_REASONS[event.error.code] ?? "other" });
        next.onRejected?.(event);
      },
    };
  }

  /** The verifier's JWK Set listeners: count, then `next`. */
  jwksEvents(next: JwksListeners): JwksListeners {
    return {
      onJwksLoaded: (event) => {
        this.jwksFetches.inc({ result: "loaded", reason: event.reason });
        next.onJwksLoaded?.(event);
      },
      onJwksError: (error) => {
        this.jwksFetches.inc({ result: "failed" });
        next.onJwksError?.(error);
      },
    };
  }

  charged(outcome: ChargeOutcome): void {
    this.chargeSeries[outcome].inc();
  }
}
