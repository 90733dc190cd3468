import type { IncomingMessage, Server } from "node:http";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { createBaseApp, finishApp } from "./http.js";
import { closeServer, listen, serverUrl } from "./lifecycle.js";
import { createLogger } from "./logger.js";
import { startRequestSpan } from "./request-span.js";

// No SDK is registered in this file: what every app is without OTEL_* variables.
let server: Server | undefined;
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
});

describe("without an OpenTelemetry SDK", () => {
  it("makes no span context for a request, even one that sends a traceparent", () => {
    const req = { method: "POST", url: "/token", headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } };
    const { span, context } = startRequestSpan(req as unknown as IncomingMessage, "r-1");
    expect(context).toBeUndefined();
    expect(span.isRecording()).toBe(false);
  });

  it("writes no trace_id or span_id on a request's lines", async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _enc, done) {
        for (const line of String(chunk).trim().split("\n")) lines.push(JSON.parse(line));
        done();
      },
    });
    const logger = createLogger({ service: "test", destination });
    const app = createBaseApp({ logger, ready: () => true });
    app.get("/work", (_req, res) => {
      logger.info("work.done");
      res.json({});
    });
    finishApp(app, logger);
    server = await listen(app, 0, "127.0.0.1");
    await fetch(`${serverUrl(server)}/work`, { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines.map((line) => line.msg)).toEqual(["work.done", "http.request"]);
    for (const line of lines) {
      expect(line.req_id).toEqual(expect.any(String));
      expect(line).not.toHaveProperty("trace_id");
      expect(line).not.toHaveProperty("span_id");
    }
  });
});
