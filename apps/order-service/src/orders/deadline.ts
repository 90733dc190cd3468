/** An abort signal for one call, and why it fired. */
export interface Deadline {
  /** Aborts when the time is up or the parent signal aborts, whichever is first. */
  readonly signal: AbortSignal;
  /** Whether the time ran out (rather than the parent aborting). */
  readonly expired: boolean;
  /** Lets go of the timer and of the parent signal; call once the call is over. */
  dispose(): void;
}

/**
 * A signal that aborts `ms` from now, or as soon as `parent` does, with the
 * parent's reason. (The same as token-client's, which keeps it internal.)
 *
 * Not `AbortSignal.any([AbortSignal.timeout(ms), parent])`: on Node 20 each
 * such call leaves an entry on the parent that is never freed, and the
 * parent here is the settler's signal, which lives as long as the process:
 * one entry per charge. This one removes its listener and clears its timer
 * on {@link Deadline.dispose}.
 */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const onParentAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`not done within ${ms} ms`, "TimeoutError"));
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
