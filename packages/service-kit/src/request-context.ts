import { AsyncLocalStorage } from "node:async_hooks";

const requests = new AsyncLocalStorage<string>();

/**
 * Runs `work` as part of the request `requestId`: every log line written
 * while it runs, or while anything it started runs (promises, timers), carries
 * that `req_id` (see `createLogger`). So a package's event, logged by the app
 * that subscribed to it, is found with its request without the package ever
 * hearing of request ids.
 */
export function withRequestId<T>(requestId: string, work: () => T): T {
  return requests.run(requestId, work);
}

/** The id of the request being served, if any. */
export function currentRequestId(): string | undefined {
  return requests.getStore();
}
