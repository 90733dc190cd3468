// A small OTLP/HTTP receiver of traces, in the JSON encoding
// (OTEL_EXPORTER_OTLP_PROTOCOL=http/json): what the apps export when
// OTEL_EXPORTER_OTLP_ENDPOINT points here. Used by `npm run demo` to draw the
// run, by the Docker `picture` service, and by the e2e tests that check the
// traces. Not a collector: it keeps the spans in memory, flattened.
import { createServer } from "node:http";

/**
 * One span as received, with its service and its attributes as plain values.
 * @typedef {{
 *   traceId: string,
 *   spanId: string,
 *   parentSpanId: string | undefined,
 *   name: string,
 *   kind: "internal" | "server" | "client" | "producer" | "consumer" | "unspecified",
 *   service: string,
 *   startMs: number,
 *   endMs: number,
 *   attributes: Record<string, unknown>,
 *   resource: Record<string, unknown>,
 *   events: { name: string, timeMs: number, attributes: Record<string, unknown> }[],
 *   status: { code: "unset" | "ok" | "error", message?: string },
 * }} ReceivedSpan
 */

const KINDS = /** @type {const} */ (["unspecified", "internal", "server", "client", "producer", "consumer"]);
const STATUS = /** @type {const} */ (["unset", "ok", "error"]);
/** The largest export body taken: the apps' batches are far smaller. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/**
 * An OTLP `AnyValue` as a plain value. Integers are strings in the JSON
 * encoding when they do not fit a double; they are numbers here.
 * @param {any} value
 * @returns {unknown}
 */
function plain(value) {
  if (value === null || typeof value !== "object") return undefined;
  if ("stringValue" in value) return value.stringValue;
  if ("boolValue" in value) return value.boolValue;
  if ("intValue" in value) return Number(value.intValue);
  if ("doubleValue" in value) return Number(value.doubleValue);
  if ("arrayValue" in value) return (value.arrayValue.values ?? []).map(plain);
  if ("kvlistValue" in value) return attributes(value.kvlistValue.values);
  if ("bytesValue" in value) return value.bytesValue;
  return undefined;
}

/** @param {any[] | undefined} list @returns {Record<string, unknown>} */
function attributes(list) {
  return Object.fromEntries((list ?? []).map((/** @type {any} */ kv) => [kv.key, plain(kv.value)]));
}

/** Nanoseconds since the epoch (a string or a number in OTLP/JSON) as milliseconds. @param {unknown} nanos */
const millis = (nanos) => Number(BigInt(String(nanos ?? 0)) / 1000n) / 1000;

/**
 * The spans of one `ExportTraceServiceRequest` (OTLP/JSON), flattened.
 * @param {any} request
 * @returns {ReceivedSpan[]}
 */
export function spansOf(request) {
  /** @type {ReceivedSpan[]} */
  const spans = [];
  for (const resourceSpans of request?.resourceSpans ?? []) {
    const resource = attributes(resourceSpans.resource?.attributes);
    for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
      for (const span of scopeSpans.spans ?? []) {
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name,
          kind: KINDS[span.kind ?? 0] ?? "unspecified",
          service: String(resource["service.name"] ?? "unknown"),
          startMs: millis(span.startTimeUnixNano),
          endMs: millis(span.endTimeUnixNano),
          attributes: attributes(span.attributes),
          resource,
          events: (span.events ?? []).map((/** @type {any} */ event) => ({
            name: event.name,
            timeMs: millis(event.timeUnixNano),
            attributes: attributes(event.attributes),
          })),
          status: { code: STATUS[span.status?.code ?? 0] ?? "unset", ...(span.status?.message ? { message: span.status.message } : {}) },
        });
      }
    }
  }
  return spans;
}

/**
 * Listens for OTLP/HTTP trace exports on `host:port` (port 0: a free one).
 * `POST /v1/traces` with `application/json` is taken; protobuf is refused
 * with 415 and a line saying which protocol to set. Past `maxSpans` the
 * oldest spans are dropped.
 * @param {{ host?: string, port?: number, maxSpans?: number, onSpans?: (spans: ReceivedSpan[]) => void }} [options]
 */
export async function startOtlpReceiver(options = {}) {
  /** @type {ReceivedSpan[]} */
  const spans = [];
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":"only POST /v1/traces"}');
      return;
    }
    if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
      res.writeHead(415, { "content-type": "text/plain" }).end("send OTLP/JSON: OTEL_EXPORTER_OTLP_PROTOCOL=http/json\n");
      return;
    }
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    req.on("data", (/** @type {Buffer} */ chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) req.destroy();
      else chunks.push(chunk);
    });
    req.on("end", () => {
      let received;
      try {
        received = spansOf(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch {
        res.writeHead(400, { "content-type": "application/json" }).end('{"error":"not an OTLP/JSON export"}');
        return;
      }
      spans.push(...received);
      if (spans.length > (options.maxSpans ?? Infinity)) spans.splice(0, spans.length - (options.maxSpans ?? 0));
      options.onSpans?.(received);
      // an ExportTraceServiceResponse with nothing rejected
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve(undefined));
  });
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    /** The value for OTEL_EXPORTER_OTLP_ENDPOINT. */
    url: `http://${host}:${address.port}`,
    spans,
    /** The spans of one trace, in start order. @param {string} traceId */
    trace: (traceId) => spans.filter((span) => span.traceId === traceId).sort((a, b) => a.startMs - b.startMs),
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

/**
 * What an app needs to export its spans to `url` at once: OTLP over HTTP
 * in JSON, batches sent every 100 ms (the default is 5 s).
 * @param {string} url
 */
export function exportTo(url) {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_BSP_SCHEDULE_DELAY: "100" };
}
