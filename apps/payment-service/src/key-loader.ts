import type { TokenVerifier } from "@m2m/token-verifier";

export interface KeyLoader {
  /** Stops retrying (at shutdown). */
  stop(): void;
  /** Resolves once the JWK Set is loaded, or when stopped. */
  readonly done: Promise<void>;
}

/**
 * Loads the issuer's JWK Set in the background, retrying with exponential
 * backoff until it succeeds, so payment-service starts (and answers
 * `/healthz`, and `503` on `/readyz`) even while the auth server is down.
 * Failures are reported through the verifier's `onJwksError`.
 */
export function keepLoadingKeys(verifier: TokenVerifier, options: { firstDelayMs?: number; maxDelayMs?: number } = {}): KeyLoader {
  const maxDelayMs = options.maxDelayMs ?? 5000;
  let delayMs = options.firstDelayMs ?? 250;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let finish = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const attempt = () => {
    timer = undefined;
    if (stopped) return;
    // a request may have loaded them meanwhile (the verifier fetches on demand too)
    if (verifier.ready) return finish();
    verifier.load().then(finish, () => {
      if (stopped) return;
      timer = setTimeout(attempt, delayMs);
      timer.unref();
      delayMs = Math.min(delayMs * 2, maxDelayMs);
    });
  };
  attempt();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      finish();
    },
    done,
  };
}
