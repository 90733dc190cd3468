import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { ConfigError } from "./config.js";

/**
 * Serves `app` (an Express app) over HTTP.
 * Listens and resolves once the socket is bound (port 0 picks a free one). A
 * port in use or not allowed is a {@link ConfigError} naming `PORT`.
 */
export function listen(app: RequestListener, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app).listen(port, host);
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
