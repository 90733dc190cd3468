import type { Clock } from "./clock.js";
import { TooManyRequestsError } from "./errors.js";

export interface FailureLimiterOptions {
  clock: Clock;
  /** Failures allowed per client within the window (default 20). */
  perClient?: number;
  /** Failures allowed per remote address within the window (default 100). */
  perAddress?: number;
  /** Window length, ms (default 60 000). */
  windowMs?: number;
  /** Most keys held per table; the oldest go first when full (default 10 000). */
  maxEntries?: number;
  /** How long a successful (client, address) pair is trusted, ms (default 24 h). */
  trustMs?: number;
}

interface Window {
  resetAt: number;
  count: number;
}

/**
 * Slows brute force on client credentials (RFC 6749 §10.10, RFC 6819 §5.1.4.2.3):
 * more than `perClient` failed authentications for one client, or more than
 * `perAddress` from one address, within a minute, and further attempts are
 * refused with 429 until the window ends, before any credential is checked.
 *
 * So that an attacker elsewhere cannot lock a legitimate client out, a
 * client's lock does not apply to an address that has recently
 * authenticated as that client successfully and has not failed for it since.
 * Attempts refused while locked are not counted, so a lock ends at most one
 * window after the last counted failure. Memory is bounded: each table keeps
 * at most `maxEntries` keys, evicting the oldest.
 */
export class FailureLimiter {
  private readonly clients = new Map<string, Window>();
  private readonly addresses = new Map<string, Window>();
  /** `client\0address` → trusted until (ms); a failure for the pair removes it. */
  private readonly trusted = new Map<string, number>();
  private readonly perClient: number;
  private readonly perAddress: number;
  private readonly windowMs: number;
  private readonly maxEntries: number;
  private readonly trustMs: number;

  constructor(private readonly options: FailureLimiterOptions) {
    this.perClient = options.perClient ?? 20;
    this.perAddress = options.perAddress ?? 100;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.trustMs = options.trustMs ?? 24 * 3600_000;
  }

  /** Throws {@link TooManyRequestsError} when this attempt must be refused without checking credentials. */
  check(clientId: string | undefined, address: string): void {
    const now = this.options.clock();
    const byAddress = this.live(this.addresses, address, now);
    if (byAddress && byAddress.count > this.perAddress) throw this.refusal(byAddress, now);
    if (clientId === undefined) return;
    const byClient = this.live(this.clients, clientId, now);
    if (byClient && byClient.count > this.perClient && !this.isTrusted(clientId, address, now)) {
      throw this.refusal(byClient, now);
    }
  }

  /** Records a failed authentication. */
  failure(clientId: string | undefined, address: string): void {
    const now = this.options.clock();
    this.bump(this.addresses, address, now);
    if (clientId !== undefined) {
      this.bump(this.clients, clientId, now);
      this.trusted.delete(`${clientId}\0${address}`);
    }
  }

  /** Records a successful authentication: this address is trusted for this client for a while. */
  success(clientId: string, address: string): void {
    const key = `${clientId}\0${address}`;
    const now = this.options.clock();
    // a busy client succeeds many times a second: renewing its trust once half of it is used up is plenty
    const until = this.trusted.get(key);
    if (until !== undefined && until - now > this.trustMs / 2) return;
    this.trusted.delete(key);
    this.bound(this.trusted);
    this.trusted.set(key, now + this.trustMs);
  }

  private isTrusted(clientId: string, address: string, now: number): boolean {
    const until = this.trusted.get(`${clientId}\0${address}`);
    return until !== undefined && until > now;
  }

  private live(table: Map<string, Window>, key: string, now: number): Window | undefined {
    const window = table.get(key);
    if (window && window.resetAt <= now) {
      table.delete(key);
      return undefined;
    }
    return window;
  }

  private bump(table: Map<string, Window>, key: string, now: number): void {
    const window = this.live(table, key, now);
    if (window) {
      window.count++;
      return;
    }
    this.bound(table);
    table.set(key, { resetAt: now + this.windowMs, count: 1 });
  }

  private bound(table: Map<string, unknown>): void {
    while (table.size >= this.maxEntries) table.delete(table.keys().next().value!);
  }

  private refusal(window: Window, now: number): TooManyRequestsError {
    const seconds = Math.max(1, Math.ceil((window.resetAt - now) / 1000));
    return new TooManyRequestsError(`too many failed client authentications; retry after ${seconds} s`, seconds);
  }
}
