import { ConfigError, EnvReader } from "./config.js";

type Env = Readonly<Record<string, string | undefined>>;

/** The trace exporters the OpenTelemetry SDK for Node knows (`OTEL_TRACES_EXPORTER`). */
const TRACE_EXPORTERS = ["otlp", "console", "zipkin", "none"] as const;
/** The OTLP transports (`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`). */
const OTLP_PROTOCOLS = ["grpc", "http/protobuf", "http/json"] as const;

/** Whether traces are exported, and as which service. */
export interface TelemetrySettings {
  /** True when the standard variables ask for traces (see {@link telemetryFrom}). */
  enabled: boolean;
  /** `service.name` of every span: `OTEL_SERVICE_NAME`, else the app's name. */
  serviceName: string;
}

/** What {@link startTelemetry} hands back: one call at shutdown sends the spans still buffered. */
export interface Telemetry {
  readonly enabled: boolean;
  shutdown(): Promise<void>;
}

/**
 * Reads the standard OpenTelemetry variables that decide whether an app
 * exports traces: on when `OTEL_EXPORTER_OTLP_ENDPOINT` or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, or `OTEL_TRACES_EXPORTER`
 * names an exporter other than `none`; off when `OTEL_SDK_DISABLED=true`
 * or `OTEL_TRACES_EXPORTER=none`. The SDK reads the others itself
 * (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, headers, timeouts, …).
 * The values checked here are the ones that would otherwise fail silently:
 * a bad one is a one-line {@link ConfigError}.
 */
export function telemetryFrom(env: Env, appName: string): TelemetrySettings {
  const read = new EnvReader(env);
  for (const name of ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]) {
    if (read.raw(name) !== undefined) read.url(name, "");
  }
  for (const name of ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]) {
    read.oneOf(name, OTLP_PROTOCOLS, "http/protobuf");
  }
  const exporters = read.raw("OTEL_TRACES_EXPORTER")?.split(",").map((name) => name.trim());
  for (const exporter of exporters ?? []) {
    if (!(TRACE_EXPORTERS as readonly string[]).includes(exporter)) {
      throw new ConfigError(`invalid OTEL_TRACES_EXPORTER: expected a list of ${TRACE_EXPORTERS.join(", ")}, got ${JSON.stringify(read.raw("OTEL_TRACES_EXPORTER"))}`);
    }
  }
  const disabled = read.oneOf("OTEL_SDK_DISABLED", ["true", "false"], "false") === "true" || exporters?.[0] === "none";
  const asked =
    read.raw("OTEL_EXPORTER_OTLP_ENDPOINT") !== undefined ||
    read.raw("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") !== undefined ||
    exporters !== undefined;
  return { enabled: asked && !disabled, serviceName: read.string("OTEL_SERVICE_NAME", appName) };
}

/**
 * Starts the OpenTelemetry SDK for Node when `settings` say so, and does
 * nothing otherwise: the SDK is then not even loaded, and the packages'
 * calls to `@opentelemetry/api` stay no-ops.
 *
 * The SDK reads its exporter, sampler and resource from the standard
 * `OTEL_*` variables. It exports traces only: metrics are served on
 * `GET /metrics` for Prometheus to scrape and logs are JSON lines on stdout
 * (the wire contract), so its metric readers and log processors are left
 * empty. No instrumentation library is registered: spans are made by the
 * code that knows what a request means (`createBaseApp` for each request,
 * the packages for each step), so none monkey-patches a module, and the
 * ESM apps need no loader hook.
 */
export async function startTelemetry(settings: TelemetrySettings): Promise<Telemetry> {
  if (!settings.enabled) return { enabled: false, shutdown: async () => {} };
  const { NodeSDK } = await import("@opentelemetry/sdk-node");
  const sdk = new NodeSDK({ serviceName: settings.serviceName, metricReaders: [], logRecordProcessors: [] });
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}
