// Loaded first by main.ts: the OpenTelemetry SDK starts (when the OTEL_*
// variables ask for it) before anything can make a span.
import { loadConfigOrExit, startTelemetry, telemetryFrom } from "@m2m/service-kit";

export const telemetry = await startTelemetry(loadConfigOrExit(() => telemetryFrom(process.env, "auth-server")));
