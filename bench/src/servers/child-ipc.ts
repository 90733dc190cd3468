import type { ChildMessage, ParentMessage } from "./protocol.js";

/**
 * The child's side of the channel to the bench, the same for our apps
 * (app-entry.ts) and the bench's own servers (entry.ts): answers `memory`
 * (after a full GC when asked: the process runs with `--expose-gc`), and
 * calls `onParentGone` if the bench goes away. The channel does not keep
 * the process alive: it ends as it would without the bench (our apps on
 * SIGTERM, through their own shutdown).
 */
export function answerParent(onParentGone: () => void): void {
  process.on("message", (message: ParentMessage) => {
    if (message.type !== "memory") return;
    if (message.gc) (globalThis as { gc?: () => void }).gc?.();
    const { rss, heapUsed } = process.memoryUsage();
    send({ type: "memory", memory: { rss, heapUsed } });
  });
  process.on("disconnect", onParentGone);
  process.channel?.unref();
}

export function send(message: ChildMessage): void {
  process.send?.(message);
}

export function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
