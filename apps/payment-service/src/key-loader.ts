import type { TokenVerifier } from "@m2m/token-verifier";

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5000;

/**
 * Keeps the issuer's JWK Set fresh in the background: loads it at start,
 * then again every `everyMs` (`JWKS_MAX_AGE`), retrying with exponential
 * backoff while the auth server cannot be reached. This is what
 *
 * - gets payment-service ready without a request, so it starts (and answers
 *   `/healthz`, and `503` on `/readyz`) even while the auth server is down;
 * - stops a key the issuer withdrew from being trusted within `everyMs`,
 *   however sparse the traffic (the verifier refreshes only when a request
 *   finds the keys old, and serves that request with them);
 * - makes it ready again after an outage longer than `JWKS_MAX_STALE`, when
 *   `/readyz` says 503 and no traffic may come to start a fetch.
 *
 * Failures are reported through the verifier's `onJwksError`. Returns
 * `stop`, which ends the schedule (at shutdown).
 */
export function keepKeysFresh(verifier: TokenVerifier, everyMs: number): () => void {
  let retryMs = FIRST_RETRY_MS;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(attempt, delayMs);
    timer.unref();
  };
  const attempt = () => {
    verifier.load().then(
      () => {
        retryMs = FIRST_RETRY_MS;
        schedule(everyMs);
      },
      () => {
        schedule(retryMs);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      },
    );
  };
  attempt();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
