import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { ConfigError, EnvReader } from "./config.js";

/**
 * How long a client may take, and how many may be connected at once: what
 * keeps slow or idle clients from holding connections, and so file
 * descriptors, until the process has none left (docs/http-limits.md).
 */
export interface HttpLimits {
  /** The request line and headers must have arrived this long after the request began, else `408` and close. */
  headersTimeoutMs: number;
  /**
   * The whole request, headers and body, must have arrived this long after it
   * began, else `408` and close. It bounds receiving, not the handler's work;
   * with bodies of at most 16 KiB it is also the minimum body rate Node lacks.
   */
  requestTimeoutMs: number;
  /** A kept-alive connection with no request for this long is closed (Node waits one second more than it advertises). */
  keepAliveTimeoutMs: number;
  /**
   * A connection on which nothing moves either way for this long is
   * destroyed, without an answer. This runs while a handler works too, so it
   * must outlast the slowest handler (a charge waiting on its processor).
   */
  idleTimeoutMs: number;
  /** Connections beyond this many are closed as soon as they are accepted, without an answer. */
  maxConnections: number;
}

/**
 * The limits every app gets. Bodies are at most 16 KiB and arrive from
 * services on the same network: a legitimate request takes milliseconds, so
 * seconds are generous, and they are far from Node's defaults (60 s for
 * headers, 300 s for a request, no idle timeout, no cap).
 */
const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  // Node's own: callers' agents read the advertised `Keep-Alive: timeout=5`
  keepAliveTimeoutMs: 5_000,
  // room for order-service's SETTLE_WAIT_MS and a card processor's answer
  idleTimeoutMs: 30_000,
  // well under the file descriptors a process gets, and more than service-to-service traffic opens
  maxConnections: 1_000,
};

/** An hour: no sane limit is longer, and a typo (an extra 000) is caught. */
const MAX_TIMEOUT_MS = 3_600_000;

/**
 * The limits from `HTTP_HEADERS_TIMEOUT_MS`, `HTTP_REQUEST_TIMEOUT_MS`,
 * `HTTP_KEEP_ALIVE_TIMEOUT_MS`, `HTTP_IDLE_TIMEOUT_MS` and
 * `HTTP_MAX_CONNECTIONS`, each falling back to its default. A bad value is a
 * one-line {@link ConfigError} naming the variable.
 */
export function httpLimitsFrom(env: Readonly<Record<string, string | undefined>>): HttpLimits {
  const read = new EnvReader(env);
  const ms = (name: string, fallback: number) => read.int(name, fallback, { min: 1, max: MAX_TIMEOUT_MS });
  const limits: HttpLimits = {
    headersTimeoutMs: ms("HTTP_HEADERS_TIMEOUT_MS", DEFAULT_HTTP_LIMITS.headersTimeoutMs),
    requestTimeoutMs: ms("HTTP_REQUEST_TIMEOUT_MS", DEFAULT_HTTP_LIMITS.requestTimeoutMs),
    keepAliveTimeoutMs: ms("HTTP_KEEP_ALIVE_TIMEOUT_MS", DEFAULT_HTTP_LIMITS.keepAliveTimeoutMs),
    idleTimeoutMs: ms("HTTP_IDLE_TIMEOUT_MS", DEFAULT_HTTP_LIMITS.idleTimeoutMs),
    maxConnections: read.int("HTTP_MAX_CONNECTIONS", DEFAULT_HTTP_LIMITS.maxConnections, { min: 1, max: 1_000_000 }),
  };
  // the headers are part of the request: Node refuses a headers timeout past the request timeout
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError(
      `invalid HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs}), got "${limits.headersTimeoutMs}"`,
    );
  }
  return limits;
}

/**
 * Serves `app` (an Express app) over HTTP, within `limits` (by default those
 * of {@link httpLimitsFrom} with no variable set).
 * Listens and resolves once the socket is bound (port 0 picks a free one). A
 * port in use or not allowed is a {@link ConfigError} naming `PORT`.
 */
export function listen(app: RequestListener, port: number, host: string, limits: Partial<HttpLimits> = {}): Promise<Server> {
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, idleTimeoutMs, maxConnections } = { ...DEFAULT_HTTP_LIMITS, ...limits };
  return new Promise((resolve, reject) => {
    const server = createServer(
      {
        headersTimeout: headersTimeoutMs,
        requestTimeout: requestTimeoutMs,
        keepAliveTimeout: keepAliveTimeoutMs,
        // Node looks for expired headers and requests only this often (30 s by
        // default, which would let a 10 s timeout run to 40 s): a tenth of the
        // shorter timeout, between 10 ms and a second.
        connectionsCheckingInterval: Math.min(1_000, Math.max(10, Math.floor(headersTimeoutMs / 10))),
      },
      app,
    );
    server.setTimeout(idleTimeoutMs);
    // At the cap Node closes each new connection as soon as it is accepted:
    // no answer, but no file descriptor held either (docs/http-limits.md).
    server.maxConnections = maxConnections;
    server.listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", (error: NodeJS.ErrnoException) => {
      reject(
        error.code === "EADDRINUSE" || error.code === "EACCES"
          ? new ConfigError(`invalid PORT: cannot listen on ${host}:${port} (${error.code})`)
          : error,
      );
    });
  });
}

/** The `http://host:port` a listening server answers on. */
export function serverUrl(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Closes a server: stops accepting, lets in-flight requests finish, drops idle sockets. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeIdleConnections();
  });
}

export interface ShutdownOptions {
  logger: Logger;
  server: Server;
  /** Called first: stop reporting ready, stop background loops. */
  beforeClose?: () => void | Promise<void>;
  /** Called after the server has closed: close databases, flush. */
  afterClose?: () => void | Promise<void>;
  /** After this, the process is ended whatever is still running. */
  timeoutMs?: number;
}

/**
 * Handles SIGTERM and SIGINT once: stop being ready, close the server, close
 * resources, set the exit code. One unref'd timer is the only forced exit.
 */
export function handleShutdown(options: ShutdownOptions): void {
  const { logger, server } = options;
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "service.stopping");
    const force = setTimeout(() => {
      logger.error("service.shutdown_timeout");
      process.exit(1);
    }, options.timeoutMs ?? 5000);
    force.unref();
    void (async () => {
      try {
        await options.beforeClose?.();
        await closeServer(server);
        await options.afterClose?.();
        logger.info("service.stopped");
        process.exitCode = 0;
      } catch (error) {
        logger.error({ err: error }, "service.shutdown_failed");
        process.exitCode = 1;
      } finally {
        logger.flush();
      }
    })();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
