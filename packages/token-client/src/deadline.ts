/** An abort signal for one exchange, and why it fired. */
export interface Deadline {
  /** Aborts when the time is up or the parent signal aborts, whichever is first. */
  readonly signal: AbortSignal;
  /** Whether the time ran out (rather than the parent aborting). */
  readonly expired: boolean;
  /** Lets go of the timer and of the parent signal; call once the exchange is over. */
  dispose(): void;
}

/**
 * A signal that aborts `ms` from now, or as soon as `parent` does, with the
 * parent's reason.
 *
 * Not `AbortSignal.any([AbortSignal.timeout(ms), parent])`: on Node 20 each
 * such call leaves an entry on the parent that is never freed (measured on
 * 20.20: 100,000 calls, 100,000 entries after GC), and the parent here is a
 * shutdown signal that lives as long as the process. This one removes its
 * listener and clears its timer on {@link Deadline.dispose}.
 */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`no complete answer within ${ms} ms`, "TimeoutError"));
  }, ms);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener("abort", onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onParentAbort);
    },
  };
}
