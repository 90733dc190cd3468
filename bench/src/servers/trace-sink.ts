import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** Where the traced targets send their spans, and how to stop it. */
export interface TraceSink {
  /** The value for `OTEL_EXPORTER_OTLP_ENDPOINT`. */
  url: string;
  /** Export requests received: zero would mean the "traces exported" rows exported nothing. */
  readonly exports: number;
  close(): Promise<void>;
}

/**
 * An OTLP/HTTP endpoint on loopback that reads every export and answers it
 * with success, keeping nothing: the apps pay for making, batching,
 * encoding and sending their spans, as against a collector, and the bench
 * pays for nothing more than reading them.
 */
export async function startTraceSink(): Promise<TraceSink> {
  let exports = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      exports += 1;
      res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get exports() {
      return exports;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
