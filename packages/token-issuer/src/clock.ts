/** Milliseconds since the epoch; injected so tests can move time. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();

/** Minimal logger shape the package writes its events to (pino fits). */
export interface EventLogger {
  /** Detail for debugging (pino: off at the default level); optional so `{ info, warn }` still fits. */
  debug?(fields: object, event: string): void;
  info(fields: object, event: string): void;
  warn(fields: object, event: string): void;
  /** pino's: lets a caller skip building a line nobody will write. */
  isLevelEnabled?(level: string): boolean;
  /** pino's: a logger whose lines all carry `bindings`, serialized once. */
  child?(bindings: Record<string, unknown>): EventLogger;
}
