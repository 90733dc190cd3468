import type { Logger } from "@m2m/service-kit";
import { TokenClientError, type TokenClientOptions, type TokenRequestDescription } from "@m2m/token-client";

/**
 * The token client's events as log lines (docs/log-events.md):
 * `token.fetched`, `token.reused`, `token.refresh_failed`, `token.retry`
 * (debug). Tokens appear only as fingerprints.
 */
export function logTokenEvents(logger: Logger): Pick<TokenClientOptions, "onFetched" | "onReused" | "onRefreshFailed" | "onRetry"> {
  return {
    onFetched(event) {
      logger.info(
        {
          ...describe(event),
          auth_method: event.authMethod,
          expires_in: event.expiresIn,
          lifetime_seconds: event.lifetimeSeconds,
          token: event.tokenFingerprint,
          ...(event.dpop ? { dpop: { jkt: event.dpop.jkt, nonce_retried: event.dpop.nonceRetried } } : {}),
        },
        "token.fetched",
      );
    },
    onReused(event) {
      logger.info({ ...describe(event), token: event.tokenFingerprint, expires_in_remaining: event.expiresInSeconds }, "token.reused");
    },
    onRefreshFailed(event) {
      logger.warn({ ...describe(event), error: event.error instanceof TokenClientError ? event.error.code : "unknown" }, "token.refresh_failed");
    },
    onRetry(event) {
      logger.debug({ ...describe(event), attempt: event.attempt, delay_ms: event.delayMs, error: event.error.message }, "token.retry");
    },
  };
}

function describe(event: TokenRequestDescription): Record<string, unknown> {
  return { client_id: event.clientId, audience: event.audience, resource: event.resource, scope: event.scope };
}
