import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { createLogger, type Logger } from "@m2m/service-kit";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

/** A loopback HTTP server that can be stopped and started again on the same port. */
export class StandIn {
  #server: Server | undefined;
  #port = 0;

  constructor(private readonly handler: Handler) {}

  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => void this.handler(req, res, Buffer.concat(chunks).toString("utf8")));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", resolve);
    });
    this.#port = (server.address() as AddressInfo).port;
    this.#server = server;
    return this;
  }

  /** Stops listening: connections are refused until {@link start}. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
};

/** Stand-in for auth-server: RFC 8414 metadata and a `/token` that issues opaque tokens. */
export async function startAuthStandIn() {
  const state = {
    tokenRequests: [] as { headers: IncomingMessage["headers"]; form: URLSearchParams }[],
    /** When set, `/token` answers this OAuth error. */
    refuse: undefined as string | undefined,
    issued: new Set<string>(),
  };
  // The handler reads `fake`, so tests can flip `refuse` on the returned object.
  const standIn: StandIn = new StandIn((req, res, body): void => {
    const state = fake;
    if (req.url === "/.well-known/oauth-authorization-server") {
      return json(res, 200, { issuer: standIn.url, token_endpoint: `${standIn.url}/token`, grant_types_supported: ["client_credentials"] });
    }
    if (req.method === "POST" && req.url === "/token") {
      const form = new URLSearchParams(body);
      state.tokenRequests.push({ headers: req.headers, form });
      if (state.refuse) return json(res, state.refuse === "invalid_client" ? 401 : 400, { error: state.refuse }, { "cache-control": "no-store" });
      const token = `tok-${state.tokenRequests.length}`;
      state.issued.add(token);
      return json(res, 200, { access_token: token, token_type: "Bearer", expires_in: 300, scope: form.get("scope") }, { "cache-control": "no-store" });
    }
    json(res, 404, { error: "not_found" });
  });
  const fake = Object.assign(standIn, state);
  await standIn.start();
  return fake;
}

export interface ChargeSeen {
  idempotencyKey: string | undefined;
  token: string | undefined;
  body: { orderId: string; customerId: string; amount: number; currency: string };
}

/**
 * Stand-in for payment-service `POST /charge`: checks the Bearer token was
 * issued by the auth stand-in, keeps one charge per Idempotency-Key, declines
 * above 100000. `mode` injects faults.
 */
export async function startPaymentStandIn(auth: { issued: Set<string> }) {
  const state = {
    requests: [] as ChargeSeen[],
    /** One charge per Idempotency-Key: the ledger. */
    charges: new Map<string, { id: string; orderId: string; status: "succeeded" | "declined" }>(),
    mode: "normal" as "normal" | "unavailable" | "lose-answer" | "in-use" | "hold",
    /** Tokens answered with 401 invalid_token. */
    rejectTokens: new Set<string>(),
    release: () => {},
    /** Charges of this customer are held until `releaseHeld()`. */
    holdCustomer: undefined as string | undefined,
    releaseHeld: () => {},
    /** When set, every charge is answered this, and nothing is charged. */
    answer: undefined as { status: number; body: unknown; headers?: Record<string, string> } | undefined,
    /** Charges of this customer are answered 503. */
    failCustomer: undefined as string | undefined,
  };
  const standIn: StandIn = new StandIn(async (req, res, body): Promise<void> => {
    const state = fake;
    if (req.method !== "POST" || req.url !== "/charge") return json(res, 404, { error: "not_found" });
    const token = req.headers.authorization?.replace(/^Bearer /, "");
    const idempotencyKey = req.headers["idempotency-key"] as string | undefined;
    const seen = { idempotencyKey, token, body: JSON.parse(body) as ChargeSeen["body"] };
    state.requests.push(seen);
    if (state.answer) return json(res, state.answer.status, state.answer.body, state.answer.headers);
    if (state.mode === "unavailable") return json(res, 503, { error: "temporarily_unavailable" }, { "retry-after": "0" });
    if (state.mode === "in-use") return json(res, 409, { error: "idempotency_key_in_use" });
    if (state.mode === "hold") await new Promise<void>((resolve) => (fake.release = resolve));
    if (state.failCustomer === seen.body.customerId) return json(res, 503, { error: "temporarily_unavailable" });
    if (state.holdCustomer === seen.body.customerId) await new Promise<void>((resolve) => (fake.releaseHeld = resolve));
    if (!token || !auth.issued.has(token)) return json(res, 401, { error: "invalid_token" }, { "www-authenticate": 'Bearer realm="payment-service"' });
    if (state.rejectTokens.has(token)) {
      return json(res, 401, { error: "invalid_token" }, { "www-authenticate": 'Bearer realm="payment-service", error="invalid_token"' });
    }
    if (!idempotencyKey) return json(res, 400, { error: "invalid_request" });
    let charge = state.charges.get(idempotencyKey);
    const replay = charge !== undefined;
    if (!charge) {
      charge = { id: `ch_${state.charges.size + 1}`, orderId: seen.body.orderId, status: seen.body.amount > 100_000 ? "declined" : "succeeded" };
      state.charges.set(idempotencyKey, charge);
    }
    if (state.mode === "lose-answer") {
      req.socket.destroy(); // charged, but the answer never arrives
      return;
    }
    if (charge.status === "declined") return json(res, 402, { error: "card_declined", error_description: "amount above limit" });
    json(res, replay ? 200 : 201, { ...charge, amount: seen.body.amount, currency: seen.body.currency });
  });
  const fake = Object.assign(standIn, state);
  await standIn.start();
  return fake;
}

/** A pino logger whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ service: "order-service", level: "debug", destination }), lines };
}

export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "order-service-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Polls until `check` returns a value (no fixed sleeps in tests). */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out waiting for a condition");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
