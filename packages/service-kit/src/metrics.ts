import type { RequestHandler } from "express";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";

export type { Registry } from "prom-client";

/**
 * A Prometheus registry for one app, holding the process defaults
 * (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_eventloop_lag_seconds`, …). The app adds its own metrics to it,
 * and `createBaseApp` serves it on `GET /metrics`.
 */
export function createMetricsRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** The methods of RFC 9110 (and PATCH); any other is `_OTHER`, as OpenTelemetry's conventions say, so a caller cannot add series. */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/** OpenTelemetry's boundaries for `http.server.request.duration`, seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * `http_server_request_duration_seconds`: every answered request by method,
 * route and status (OpenTelemetry's `http.server.request.duration`, under
 * its Prometheus name). The route is the pattern that matched (`/orders/:id`),
 * never the path, and a request that matched none has no `http_route`: the
 * label values are a fixed set whatever callers send.
 */
export class HttpMetrics {
  private readonly duration: Histogram<"http_request_method" | "http_route" | "http_response_status_code">;
  /** The histogram's series by method, route and status, made once each: observing one then allocates nothing. */
  private readonly series = new Map<string, Map<string | undefined, Map<number, Histogram.Internal<string>>>>();

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: "http_server_request_duration_seconds",
      help: "Duration of HTTP requests served, from the first byte read to the last byte written",
      labelNames: ["http_request_method", "http_route", "http_response_status_code"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    });
  }

  observe(method: string | undefined, route: string | undefined, status: number, seconds: number): void {
    const known = method !== undefined && KNOWN_METHODS.has(method) ? method : "_OTHER";
    let byRoute = this.series.get(known);
    if (byRoute === undefined) this.series.set(known, (byRoute = new Map()));
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) byRoute.set(route, (byStatus = new Map()));
    let series = byStatus.get(status);
    if (series === undefined) {
      series = this.duration.labels({ http_request_method: known, http_response_status_code: status, ...(route === undefined ? {} : { http_route: route }) });
      byStatus.set(status, series);
    }
    series.observe(seconds);
  }
}

/** `GET /metrics`: the registry in the Prometheus text format. */
export function metricsEndpoint(registry: Registry): RequestHandler {
  return (_req, res, next) => {
    registry.metrics().then((text) => {
      res.set("Content-Type", registry.contentType).send(text);
    }, next);
  };
}
