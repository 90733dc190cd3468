import type { Logger } from "@m2m/service-kit";
import { InvalidDPoPProofError, type GuardOptions } from "@m2m/token-verifier";

/**
 * The guard's events as log lines (docs/log-events.md). `token.verified` is
 * news at a token's first use (`info`); its repeats, served from the
 * verifier's cache, say nothing new and go at `debug`. The request's
 * `req_id` is added by the logger.
 */
export function logGuardEvents(logger: Logger): Pick<GuardOptions, "onVerified" | "onRejected"> {
  return {
    onVerified(event) {
      const { claims, header, cached, checkedAt } = event.token;
      const level = cached ? "debug" : "info";
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          client_id: claims.client_id,
          sub: claims.sub,
          aud: claims.aud,
          iss: claims.iss,
          scope: claims.scope,
          kid: header.kid,
          alg: header.alg,
          exp: claims.exp,
          checks: event.checks,
          cached,
          expires_in: claims.exp - checkedAt,
          ...(event.dpop ? { dpop: { jkt: event.dpop.jkt, alg: event.dpop.alg } } : {}),
        },
        "token.verified",
      );
    },
    onRejected({ error }) {
      const line = {
        status: error.status,
        error: error.code,
        error_description: error.description,
        // which proof check failed: the client is only told that the proof is not valid
        ...(error instanceof InvalidDPoPProofError ? { reason: error.reason } : {}),
      };
      // an outage of the issuer's keys is ours, not the caller's
      if (error.status >= 500) logger.warn(line, "token.rejected");
      else logger.info(line, "token.rejected");
    },
  };
}
