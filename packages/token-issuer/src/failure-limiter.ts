import { setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "./clock.js";
import { TooManyRequestsError } from "./errors.js";
import { MemoryFailureCounts, type FailureBucket, type FailureCounts, type FailureReservation } from "./failure-counts.js";
import { MemoryTrustedCallers, type TrustedCallers } from "./trusted-callers.js";

export interface FailureLimiterOptions {
  clock: Clock;
  /** Where the (client, address) pairs that authenticated are remembered (default: this process's memory). */
  trusted?: TrustedCallers;
  /** Where failures are counted (default: this process's memory, bounded by `maxEntries`); a Redis shared by every instance counts across them. */
  counts?: FailureCounts;
  /** Failed authentications tolerated per client id within the window; more lock it (default 20). */
  perClient?: number;
  /** Failed authentications tolerated per remote address within the window; more lock it (default 100). */
  perAddress?: number;
  /** Window length, ms (default 60 000). */
  windowMs?: number;
  /** Most unknown client ids and addresses counted at once in memory; the oldest go first (default 10 000). */
  maxEntries?: number;
  /** How long a success trusts its (client, address) pair, ms (default 30 days); renewed by later successes. */
  trustMs?: number;
  /**
   * How long an attempt waits, ms, when its bucket is over the limit only
   * with attempts still being checked, before it is refused (default 1 000):
   * a client's own concurrent requests queue for a moment rather than count
   * against it.
   */
  busyWaitMs?: number;
}

/** One authentication attempt, counted as a failure from before its credential is checked until it succeeds. */
export interface Attempt {
  /** The credential was right: the attempt no longer counts, and the caller's address is trusted for the client. */
  succeeded(clientId: string): Promise<void>;
  /** The credential was wrong: the attempt stays counted, as a failure, until its window ends. */
  failed(): void;
  /** Something other than the credential went wrong (a store outage): the attempt no longer counts. */
  abandoned(): void;
}

/**
 * Limits guessing of client credentials (RFC 6749 §10.10, RFC 6819
 * §5.1.4.2.3), without letting a guesser lock out the client it guesses at.
 *
 * - A caller at an address where the client it names has authenticated
 *   before (a trusted pair, see {@link TrustedCallers}) is counted on its own:
 *   more than `perClient` failures a minute from that pair lock that pair,
 *   and nothing else does. Failures elsewhere, or under other client ids,
 *   never refuse it, and no one else's traffic can evict its trust.
 * - Any other caller is counted per client id (registered or not, so the
 *   answers never tell the two apart) and per address: more than `perClient`
 *   failures for one id, or more than `perAddress` from one address, within a
 *   minute, and further attempts are refused with 429 until the window ends.
 *   A brand-new caller of a client under attack is held off with the
 *   attacker: it has not proved anything yet.
 * - Each attempt is counted before its credential is checked, and only
 *   stops counting once it succeeds: however many guesses arrive at once,
 *   no more than the limit (plus the one that goes over it) are ever checked,
 *   and a correct guess past the limit is refused unchecked. When a bucket
 *   is over the limit only with attempts still being checked, a new attempt
 *   waits for them (at most `busyWaitMs`) rather than being refused: so a
 *   client's own burst of concurrent requests, which all succeed, is never
 *   refused for being in flight at once, while guesses are still checked
 *   no more than the limit allows.
 *
 * The counting is a {@link FailureCounts}: this process's memory by default,
 * where unknown client ids and addresses are counted in tables of at most
 * `maxEntries` keys each (the oldest go first) while registered clients and
 * trusted pairs are never evicted, so flooding made-up ids or addresses
 * cannot reset a real client's count. Given counts shared by every instance
 * (apps/auth-server keeps them in Redis), the limits hold across instances.
 */
export class FailureLimiter {
  private readonly trusted: TrustedCallers;
  private readonly counts: FailureCounts;
  private readonly perClient: number;
  private readonly perAddress: number;
  private readonly windowMs: number;
  private readonly trustMs: number;
  private readonly busyWaitMs: number;

  constructor(private readonly options: FailureLimiterOptions) {
    this.trusted = options.trusted ?? new MemoryTrustedCallers();
    this.perClient = options.perClient ?? 20;
    this.perAddress = options.perAddress ?? 100;
    this.windowMs = options.windowMs ?? 60_000;
    this.counts = options.counts ?? new MemoryFailureCounts(options.maxEntries ?? 10_000);
    this.trustMs = options.trustMs ?? 30 * 24 * 3600_000;
    this.busyWaitMs = options.busyWaitMs ?? 1_000;
  }

  /**
   * Starts an attempt by a caller at `address` claiming to be `clientId`
   * (`undefined` when it names none), counting it as a failure until it
   * {@link Attempt.succeeded succeeds}. Throws {@link TooManyRequestsError}
   * when the attempt must be refused without checking its credential.
   */
  async begin(clientId: string | undefined, registered: boolean, address: string): Promise<Attempt> {
    const trustedUntil = clientId !== undefined && registered ? await this.trusted.trustedUntil(clientId, address, this.options.clock()) : undefined;
    const buckets: FailureBucket[] =
      trustedUntil !== undefined
        ? [{ table: "trusted-pair", key: `${clientId}\0${address}`, limit: this.perClient }]
        : [
            ...(clientId === undefined ? [] : [{ table: registered ? "registered-client" : "unknown-client", key: clientId, limit: this.perClient } as const]),
            { table: "address", key: address, limit: this.perAddress },
          ];
    const reservation = await this.reserve(buckets);
    // Taking a count back cannot weaken the limit, only failing to: an outage of
    // the counts here leaves the attempt counted until its window ends.
    const release = () => reservation.release().catch(() => undefined);
    return {
      failed: () => void reservation.settle().catch(() => undefined),
      succeeded: async (authenticated) => {
        await release();
        // a busy client succeeds many times a second: renewing its trust once half of it is used up is plenty
        const now = this.options.clock();
        if (trustedUntil === undefined || authenticated !== clientId || trustedUntil - now < this.trustMs / 2) {
          await this.trusted.trust(authenticated, address, now + this.trustMs);
        }
      },
      abandoned: () => void release(),
    };
  }

  /**
   * One atomic step checks every bucket and counts in every bucket, so
   * concurrent attempts see each other's. A bucket full only of attempts
   * still being checked is asked again, a little later each time, until
   * they settle or `busyWaitMs` has passed.
   */
  private async reserve(buckets: FailureBucket[]): Promise<Extract<FailureReservation, { granted: true }>> {
    const started = performance.now();
    for (let pause = 2; ; pause = Math.min(pause * 2, 50)) {
      const reservation = await this.counts.reserve(buckets, this.windowMs, this.options.clock());
      if (reservation.granted) return reservation;
      if (!reservation.busy) throw this.refusal(reservation.retryAfterMs);
      if (performance.now() - started + pause > this.busyWaitMs) throw this.refusal(1_000);
      await sleep(pause);
    }
  }

  private refusal(retryAfterMs: number): TooManyRequestsError {
    const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
    return new TooManyRequestsError(`too many failed client authentications; retry after ${seconds} s`, seconds);
  }
}
