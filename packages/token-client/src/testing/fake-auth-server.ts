import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { TokenClientOptions } from "../index.js";

/** One request the fake token endpoint received. */
export interface Received {
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** `"reset"` destroys the connection without an answer (a network failure). */
export type Responder = (request: Received, index: number) => Reply | "reset" | Promise<Reply | "reset">;

export interface FakeAuthServer {
  url: string;
  issuer: string;
  /** Every `POST /token` received, in order. */
  tokenRequests: Received[];
  metadataRequests: number;
  /** Replaces how `/token` answers. */
  respond(responder: Responder): void;
  /** Replaces the metadata document. */
  metadata(document: Record<string, unknown>): void;
  close(): Promise<void>;
}

/** A successful RFC 6749 §5.1 answer with an opaque token `tok-<n>`. */
export const issue =
  (expiresIn = 300): Responder =>
  (request, index) => ({
    status: 200,
    headers: { "cache-control": "no-store" },
    body: {
      access_token: `tok-${index + 1}`,
      token_type: "Bearer",
      expires_in: expiresIn,
      ...(request.form.has("scope") ? { scope: request.form.get("scope") } : {}),
    },
  });

export const oauthError = (status: number, error: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { "cache-control": "no-store", ...headers },
  body: { error, error_description: `refused: ${error}` },
});

/** A loopback authorization server: RFC 8414 metadata and a scriptable `/token`. */
export async function startFakeAuthServer(): Promise<FakeAuthServer> {
  let responder: Responder = issue();
  let document: Record<string, unknown> | undefined;
  const tokenRequests: Received[] = [];
  const state = { metadataRequests: 0 };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void (async () => {
        if (req.method === "GET" && req.url === "/.well-known/oauth-authorization-server") {
          state.metadataRequests += 1;
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(document ?? { issuer: fake.issuer, token_endpoint: `${fake.url}/token` }));
          return;
        }
        if (req.method === "POST" && req.url === "/token") {
          const received = { headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString("utf8")) };
          tokenRequests.push(received);
          const reply = await responder(received, tokenRequests.length - 1);
          if (reply === "reset") {
            req.socket.destroy();
            return;
          }
          res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
          res.end(reply.body === undefined ? "" : typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body));
          return;
        }
        res.writeHead(404).end();
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeAuthServer = {
    url,
    issuer: url,
    tokenRequests,
    get metadataRequests() {
      return state.metadataRequests;
    },
    respond(next) {
      responder = next;
    },
    metadata(next) {
      document = next;
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return fake;
}

/** A promise with its resolver, to hold an answer until the test lets it go. */
export function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** A clock the test moves by hand. */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance(ms) {
      time += ms;
    },
  };
}

/** A logger that keeps what it is given. */
/** Every event a token client tells its listeners, in order: pass `listeners` in its options. */
export function recordingListeners(): {
  events: { type: string; event: Record<string, unknown> }[];
  listeners: Pick<TokenClientOptions, "onFetched" | "onReused" | "onRefreshFailed" | "onRetry">;
} {
  const events: { type: string; event: Record<string, unknown> }[] = [];
  const record = (type: string) => (event: object) => events.push({ type, event: event as Record<string, unknown> });
  return { events, listeners: { onFetched: record("fetched"), onReused: record("reused"), onRefreshFailed: record("refresh_failed"), onRetry: record("retry") } };
}
