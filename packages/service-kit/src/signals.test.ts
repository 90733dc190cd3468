import type { Server } from "node:http";
import { Writable } from "node:stream";
import { context, propagation, SpanKind, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { createBaseApp, finishApp } from "./http.js";
import { closeServer, listen, serverUrl } from "./lifecycle.js";
import { createLogger } from "./logger.js";
import { createMetricsRegistry } from "./metrics.js";
import { telemetryFrom } from "./telemetry.js";

// What the SDK would install: spans kept in memory, the context carried across awaits, W3C propagation.
const exported = new InMemorySpanExporter();
beforeAll(() => {
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exported)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
});
afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

let server: Server | undefined;
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
  exported.reset();
});

async function start() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).trim().split("\n")) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ service: "test", destination });
  const metrics = createMetricsRegistry();
  const app = createBaseApp({ logger, ready: () => true, metrics });
  app.get("/orders/:id", async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    logger.info({ order_id: req.params.id }, "order.read");
    res.json({ id: req.params.id });
  });
  finishApp(app, logger);
  server = await listen(app, 0, "127.0.0.1");
  return { url: serverUrl(server), lines, metrics };
}

const CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c";
const CALLER_SPAN = "b7ad6b7169203331";

describe("a request's signals", () => {
  it("is a server span named by its route, the child of the caller's traceparent, and every log line of it carries its trace_id", async () => {
    const { url, lines } = await start();
    const res = await fetch(`${url}/orders/o-42?access_token=leaked`, { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
    expect(res.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 20));

    const [span] = exported.getFinishedSpans();
    expect(span?.name).toBe("GET /orders/:id");
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.spanContext().traceId).toBe(CALLER_TRACE);
    expect(span?.parentSpanContext?.spanId).toBe(CALLER_SPAN);
    expect(span?.attributes).toMatchObject({
      "http.request.method": "GET",
      "http.route": "/orders/:id",
      "url.path": "/orders/o-42",
      "http.response.status_code": 200,
      "request.id": res.headers.get("x-request-id"),
    });
    expect(JSON.stringify(span?.attributes)).not.toContain("leaked");

    const read = lines.find((line) => line.msg === "order.read");
    const request = lines.find((line) => line.msg === "http.request");
    expect(read).toMatchObject({ trace_id: CALLER_TRACE, span_id: span?.spanContext().spanId, req_id: res.headers.get("x-request-id") });
    expect(request).toMatchObject({ trace_id: CALLER_TRACE });
  });

  it("counts each request under its route, never its path, and serves the Prometheus text format", async () => {
    const { url } = await start();
    await fetch(`${url}/orders/a`);
    await fetch(`${url}/orders/b`);
    await fetch(`${url}/nowhere/${"x".repeat(20)}`);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="200",http_route="/orders/:id"} 2');
    expect(text).toContain('http_server_request_duration_seconds_count{http_request_method="GET",http_response_status_code="404"} 1');
    expect(text).not.toContain("xxxxx");
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    // scrapes and probes are not traced
    expect(exported.getFinishedSpans().map((span) => span.name)).toEqual(["GET /orders/:id", "GET /orders/:id", "GET"]);
  });
});

describe("telemetryFrom", () => {
  it("is off unless an OTLP endpoint or a traces exporter is named, and OTEL_SDK_DISABLED wins", () => {
    expect(telemetryFrom({}, "auth-server")).toEqual({ enabled: false, serviceName: "auth-server" });
    expect(telemetryFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }, "auth-server").enabled).toBe(true);
    expect(telemetryFrom({ OTEL_TRACES_EXPORTER: "console" }, "x").enabled).toBe(true);
    expect(telemetryFrom({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "x").enabled).toBe(false);
    expect(telemetryFrom({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" }, "x").enabled).toBe(false);
    expect(telemetryFrom({ OTEL_SERVICE_NAME: "payments-eu" }, "payment-service").serviceName).toBe("payments-eu");
  });

  it("stops at start with one line naming a variable the SDK would otherwise ignore with a warning", () => {
    expect(() => telemetryFrom({ OTEL_EXPORTER_OTLP_PROTOCOL: "http" }, "x")).toThrow(
      new ConfigError('invalid OTEL_EXPORTER_OTLP_PROTOCOL: expected one of grpc, http/protobuf, http/json, got "http"'),
    );
    expect(() => telemetryFrom({ OTEL_TRACES_EXPORTER: "jaeger" }, "x")).toThrow(/^invalid OTEL_TRACES_EXPORTER: /);
    expect(() => telemetryFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "x")).toThrow(/^invalid OTEL_EXPORTER_OTLP_ENDPOINT: /);
  });
});
