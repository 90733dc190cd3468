import type { TokenVerifier } from "@m2m/token-verifier";

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5000;

/**
 * Loads the issuer's JWK Set in the background, retrying with exponential
 * backoff until it succeeds, so payment-service starts (and answers
 * `/healthz`, and `503` on `/readyz`) even while the auth server is down.
 * The verifier itself only fetches when a request needs a key; this is what
 * gets it ready without one. Failures are reported through the verifier's
 * `onJwksError`. Returns `stop`, which ends the retries (at shutdown).
 */
export function keepLoadingKeys(verifier: TokenVerifier): () => void {
  let delayMs = FIRST_DELAY_MS;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const attempt = () => {
    timer = undefined;
    // a request may have loaded them meanwhile (the verifier fetches on demand too)
    if (stopped || verifier.ready) return;
    verifier.load().catch(() => {
      if (stopped) return;
      timer = setTimeout(attempt, delayMs);
      timer.unref();
      delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
    });
  };
  attempt();

  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
