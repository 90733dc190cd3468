import type { Logger } from "@m2m/service-kit";
import type { Settler } from "./settler.js";
import type { OrderBook } from "./order-book.js";

export interface WorkerOptions {
  store: OrderBook;
  settler: Settler;
  logger: Logger;
  /** Time between two looks for due orders, ms (default 250). */
  pollIntervalMs?: number;
}

/** Attempts the worker runs at once. */
const CONCURRENCY = 16;

/**
 * The background loop that settles pending orders. It keeps up to
 * {@link CONCURRENCY} attempts in flight, each through the {@link Settler}, and
 * skips orders already being settled (the request that created one may
 * still be waiting on its charge). It keeps going until each order is paid
 * or failed; the schedule is in the database, so after a restart it picks up
 * where it left off. With several instances on one PostgreSQL, each claims
 * the due orders it starts (a lease, see {@link OrderBook.claimDue}), so no
 * two instances work on one order at once.
 */
export class SettlementWorker {
  readonly #store: OrderBook;
  readonly #settler: Settler;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #active = new Set<Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #filling = false;
  #again = false;

  constructor(options: WorkerOptions) {
    this.#store = options.store;
    this.#settler = options.settler;
    this.#logger = options.logger;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Stops taking work and waits for the attempts it started (abort them with `Settler.stop`). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#active]);
  }

  #schedule(delay: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#fill(), delay);
  }

  /** Starts attempts for due orders in the free slots; the list is read fresh, so nothing is tried early. */
  async #fill(): Promise<void> {
    // one round at a time: a round awaits the store, and a slot freed meanwhile asks for another
    if (this.#filling) {
      this.#again = true;
      return;
    }
    this.#filling = true;
    let more = false;
    try {
      const free = CONCURRENCY - this.#active.size;
      if (free > 0) {
        // exactly as many as there are free slots, none of those in flight here: a claimed order is
        // held, and must be started. As many as asked for means more may be waiting.
        const claimed = await this.#store.claimDue(Date.now(), free, this.#settler.settling());
        const due = claimed.filter((o) => !this.#settler.isSettling(o.id));
        // a round that started nothing has no attempt to end and ask again: it polls
        more = claimed.length === free && due.length > 0;
        // stopped while claiming: the orders stay pending, and closing the book lets go of them
        if (this.#stopped) return;
        for (const order of due) {
          const attempt = this.#settler
            .settle(order.id)
            .catch((error: unknown) => this.#logger.error({ err: error, order_id: order.id }, "order.attempt_failed"))
            .finally(() => {
              this.#active.delete(attempt);
              if (more) this.#schedule(0); // a slot is free and more orders are waiting
            });
          this.#active.add(attempt);
        }
      }
    } catch (error) {
      this.#logger.error({ err: error }, "worker.round_failed");
    } finally {
      this.#filling = false;
    }
    if (this.#again) {
      this.#again = false;
      this.#schedule(0);
    } else if (!more) this.#schedule(this.#pollIntervalMs);
  }
}
