import { Redis } from "ioredis";

export type { Redis };

export interface RedisOptions {
  /** Told when the connection is lost or cannot be made (once per outage, not per reconnection attempt). */
  onDown?: (error: Error) => void;
  /** Told when the connection is back. */
  onUp?: () => void;
  /** Longest wait for one command's answer, ms (default 1000). */
  commandTimeoutMs?: number;
}

/**
 * A Redis client (ioredis) on `url` (`REDIS_URL`) that fails fast instead of
 * waiting: while the server is unreachable every command rejects at once
 * (no offline queue, no retry of a command), a command rejects after
 * `commandTimeoutMs`, and connecting gives up after a second. It keeps
 * reconnecting in the background (every 100 ms, backing off to 1 s), so
 * the callers work again as soon as the server is back, with no restart.
 *
 * What to do with a rejection is the caller's to decide; the auth-server
 * fails closed (`503 temporarily_unavailable`).
 */
export function openRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    connectTimeout: 1_000,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
    // commands in flight when the connection drops fail rather than being sent again on a new one
    autoResendUnfulfilledCommands: false,
  });
  let down = false;
  const lost = (error: Error) => {
    if (down) return;
    down = true;
    options.onDown?.(error);
  };
  // a server that shuts down closes the connection without an error; one that cannot be reached errors
  redis.on("error", lost);
  redis.on("close", () => lost(new Error("connection closed")));
  redis.on("ready", () => {
    if (!down) return;
    down = false;
    options.onUp?.();
  });
  return redis;
}

/** Resolves once `redis` is connected, or after `timeoutMs` either way: a server that is down must not stop a start. */
export async function whenConnected(redis: Redis, timeoutMs = 2_000): Promise<boolean> {
  if (redis.status === "ready") return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(false), timeoutMs);
    const onReady = () => done(true);
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off("ready", onReady);
      resolve(ready);
    };
    redis.once("ready", onReady);
  });
}
