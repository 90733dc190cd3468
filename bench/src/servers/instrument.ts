import type { Server } from "node:http";
import { logDestination } from "@m2m/service-kit";
import type { DestinationStream } from "pino";
import type { ServerStats } from "./protocol.js";

/**
 * What the bench counts inside a server process, without touching the app:
 * requests by method and path (a `request` listener on the server), and the
 * `token.issued` events the app logs.
 */
export class Counters {
  readonly stats: ServerStats = { requests: {}, tokensIssued: {} };

  watch(server: Server): void {
    server.prependListener("request", (req: { method?: string; url?: string }) => {
      const key = `${req.method ?? "?"} ${(req.url ?? "").split("?")[0]}`;
      this.stats.requests[key] = (this.stats.requests[key] ?? 0) + 1;
    });
  }

  /**
   * A log destination that writes every line to /dev/null the way the apps
   * write stdout (the service kit's `logDestination`), so logging costs what
   * it costs in production: serialisation and a write; and counts
   * `token.issued` by (client, audience, scope).
   */
  logSink(countTokens = false): DestinationStream {
    const devNull = logDestination("/dev/null");
    return {
      write: (line: string) => {
        if (countTokens && line.includes('"token.issued"')) this.countIssued(line);
        devNull.write(line);
      },
    };
  }

  private countIssued(line: string): void {
    try {
      const event = JSON.parse(line) as { client_id?: string; claims?: { aud?: unknown; scope?: unknown } };
      const key = `${event.client_id ?? "?"} ${String(event.claims?.aud ?? "?")} ${String(event.claims?.scope ?? "?")}`;
      this.stats.tokensIssued[key] = (this.stats.tokensIssued[key] ?? 0) + 1;
    } catch {
      this.stats.tokensIssued["unparsed"] = (this.stats.tokensIssued["unparsed"] ?? 0) + 1;
    }
  }
}
