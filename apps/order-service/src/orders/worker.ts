import type { Logger } from "@m2m/service-kit";
import type { Settler } from "./settler.js";
import type { OrderStore } from "./store.js";

export interface WorkerOptions {
  store: OrderStore;
  settler: Settler;
  logger: Logger;
  clock?: () => number;
  /** Time between two looks for due orders when there was nothing to do, ms (default 250). */
  pollIntervalMs?: number;
  /** Orders settled at once (default 16). */
  concurrency?: number;
}

/**
 * The background loop that settles pending orders: every poll it takes the
 * orders whose next attempt is due and settles them through the
 * {@link Settler}, skipping those already being settled (the request that
 * created them may still be waiting on its charge). It keeps going until
 * each order is paid or failed; the schedule is in the database, so after a
 * restart it picks up where it left off.
 */
export class SettlementWorker {
  readonly #store: OrderStore;
  readonly #settler: Settler;
  readonly #logger: Logger;
  readonly #clock: () => number;
  readonly #pollIntervalMs: number;
  readonly #concurrency: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = true;

  constructor(options: WorkerOptions) {
    this.#store = options.store;
    this.#settler = options.settler;
    this.#logger = options.logger;
    this.#clock = options.clock ?? Date.now;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    this.#concurrency = options.concurrency ?? 16;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops looking for work and waits for the current round to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#round()
        .catch((error: unknown) => {
          this.#logger.error({ err: error }, "worker.round_failed");
          return false;
        })
        .then((busy) => {
          this.#running = undefined;
          this.#schedule(busy ? 0 : this.#pollIntervalMs);
        });
    }, delay);
  }

  /** One round: settle the due orders, a few at a time. True when there may be more due. */
  async #round(): Promise<boolean> {
    const due = this.#store.due(this.#clock(), this.#concurrency * 4).filter((order) => !this.#settler.isSettling(order.id));
    for (let i = 0; i < due.length && !this.#stopped; i += this.#concurrency) {
      await Promise.all(due.slice(i, i + this.#concurrency).map((order) => this.#settler.settle(order.id)));
    }
    return due.length === this.#concurrency * 4;
  }
}
