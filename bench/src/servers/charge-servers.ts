import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import {
  closeServer,
  createBaseApp,
  createLogger,
  createMetricsRegistry,
  finishApp,
  invalidRequest,
  jsonBody,
  listen,
  serverUrl,
  type Logger,
} from "@m2m/service-kit";
import { createDPoPVerifier, createVerifier } from "@m2m/token-verifier";
import { accessTokenClaims, requireAccessToken } from "@m2m/token-verifier/express";
import type { ErrorRequestHandler, Request, RequestHandler, Response } from "express";
import type * as JwtBearer from "express-oauth2-jwt-bearer";
import { loadPeer } from "../peers.js";
import { BENCH_CLIENT, CHARGE_SCOPE, PAYMENT_AUDIENCE } from "./dev-registry.js";
import type { ServerSpec } from "./protocol.js";
import type { RunningServer } from "./running.js";

/*
 * Scenario 2's servers: one `POST /charge` handler of the bench's own, on
 * the service kit's base app (security headers, request id, one
 * `http.request` line, the one error renderer), run three ways: bare, behind
 * our guard (token-verifier's `requireAccessToken`, with or without a DPoP
 * verifier), and behind express-oauth2-jwt-bearer. Only what sits in front
 * of the handler differs, so the ratios isolate the guards.
 *
 * Why a handler of the bench's own: payment-service exports nothing, and a
 * runtime switch that turns its auth off would be a path no deployment
 * takes. This one does the same kind of work per request as payment-service's
 * (JSON body parsed and checked, the idempotency key looked up, the charge
 * and its key written in one SQLite transaction, one `charge.created` line,
 * a 201), kept short; the real payment-service is measured beside it, with
 * the same token and request, so RESULTS.md shows how far apart they are.
 */

/** Who the charge is for: the verified token's client, or the bench's client where there is no auth. */
type ClientOf = (req: Request, res: Response) => string;

export function startBareCharges(spec: ServerSpec): Promise<RunningServer> {
  return startChargeServer(spec, [], () => BENCH_CLIENT);
}

/**
 * Our guard as payment-service mounts it: `requireAccessToken` with its
 * realm and scope, the body parsed only after it. With `spec.dpopMode`, also
 * with payment-service's `dpop` option: a `createDPoPVerifier` of that mode
 * whose `publicUrl` is this server's own origin (the port chosen in
 * advance), as PUBLIC_URL sets it for payment-service.
 */
export async function startGuardedCharges(spec: ServerSpec): Promise<RunningServer> {
  const verifier = createVerifier({ issuer: required(spec.issuer), audience: PAYMENT_AUDIENCE });
  await verifier.load();
  const dpop =
    spec.dpopMode === undefined
      ? undefined
      : createDPoPVerifier({
          mode: spec.dpopMode,
          publicUrl: `http://127.0.0.1:${requiredPort(spec.port)}`,
          ...(spec.replayCacheMaxEntries === undefined ? {} : { replayCacheMaxEntries: spec.replayCacheMaxEntries }),
        });
  // no onVerified/onRejected listeners: payment-service's log a token's first use only (a cached one at debug), nothing per request
  const guard = requireAccessToken(verifier, { realm: "payment-service", scope: CHARGE_SCOPE, ...(dpop ? { dpop } : {}) });
  return startChargeServer(spec, [guard], (_req, res) => accessTokenClaims(res).client_id);
}

/**
 * The stack people use instead: Auth0's express-oauth2-jwt-bearer with
 * `requiredScopes`, pointed at our issuer and its JWKS. `strict` makes it
 * check `typ: at+jwt` as RFC 9068 (and our verifier) do. With
 * `spec.dpopMode`, its DPoP support is on (`htu` from the request's
 * protocol and Host, which the bench sends as the server's address).
 */
export async function startJwtBearerCharges(spec: ServerSpec): Promise<RunningServer> {
  const { auth, requiredScopes } = await loadPeer<typeof JwtBearer>("express-oauth2-jwt-bearer");
  const res = await fetch(`${required(spec.issuer)}/.well-known/oauth-authorization-server`);
  const metadata = (await res.json()) as { issuer: string; jwks_uri: string };
  const guard = [
    auth({
      issuer: metadata.issuer,
      jwksUri: metadata.jwks_uri,
      audience: PAYMENT_AUDIENCE,
      tokenSigningAlg: spec.alg ?? "RS256",
      strict: true,
      // with `spec.dpopMode`, its own DPoP support (RFC 9449), proofs checked with jose as ours are (it keeps no jti: a replay is the app's to refuse)
      ...(spec.dpopMode === undefined || spec.dpopMode === "off" ? {} : { dpop: { enabled: true, required: spec.dpopMode === "required" } }),
    }),
    requiredScopes(CHARGE_SCOPE),
  ];
  const clientOf: ClientOf = (req) => String((req as { auth?: { payload: { client_id?: unknown } } }).auth?.payload.client_id);
  return startChargeServer(spec, guard, clientOf, renderBearerErrors);
}

async function startChargeServer(spec: ServerSpec, guard: RequestHandler[], clientOf: ClientOf, onError?: ErrorRequestHandler): Promise<RunningServer> {
  const logger = createLogger({ service: spec.kind });
  mkdirSync(spec.dataDir, { recursive: true });
  const ledger = openLedger(join(spec.dataDir, "bench-ledger.db"));
  // with `metrics`, the base app serves /metrics and observes every request, as in the apps
  const app = createBaseApp({ logger, ready: () => true, ...(spec.metrics ? { metrics: createMetricsRegistry() } : {}) });
  app.post("/charge", ...guard, jsonBody(), chargeHandler(ledger, logger, clientOf));
  if (onError) app.use(onError);
  finishApp(app, logger);
  let server: Server;
  try {
    server = await listen(app, spec.port ?? 0, "127.0.0.1");
  } catch (error) {
    ledger.close();
    throw error;
  }
  return {
    server,
    url: serverUrl(server),
    async close() {
      await closeServer(server);
      ledger.close();
    },
  };
}

interface Ledger {
  /** The answer already given for this client's key. */
  answered(client: string, key: string): string | undefined;
  /** The charge and its key, in one transaction. */
  record(charge: Record<string, string | number>, key: string, answer: string): void;
  close(): void;
}

function openLedger(file: string): Ledger {
  const db = new Database(file);
  // the durability payment-service chose: WAL, synced at checkpoints
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec(`
    CREATE TABLE charge (id TEXT PRIMARY KEY, client TEXT, order_id TEXT, customer TEXT, amount INTEGER, currency TEXT, at TEXT) STRICT, WITHOUT ROWID;
    CREATE TABLE answer (client TEXT, key TEXT, charge TEXT REFERENCES charge (id), body TEXT, PRIMARY KEY (client, key)) STRICT, WITHOUT ROWID;`);
  const find = db.prepare<[string, string], { body: string }>("SELECT body FROM answer WHERE client = ? AND key = ?");
  const addCharge = db.prepare("INSERT INTO charge VALUES (@id, @client, @orderId, @customerId, @amount, @currency, @at)");
  const addAnswer = db.prepare("INSERT INTO answer VALUES (?, ?, ?, ?)");
  const record = db.transaction((charge: Record<string, string | number>, key: string, answer: string) => {
    addCharge.run(charge);
    addAnswer.run(charge.client, key, charge.id, answer);
  });
  return {
    answered: (client, key) => find.get(client, key)?.body,
    record: (charge, key, answer) => record.immediate(charge, key, answer),
    close: () => db.close(),
  };
}

function chargeHandler(ledger: Ledger, logger: Logger, clientOf: ClientOf): RequestHandler {
  return (req, res) => {
    const key = req.get("idempotency-key");
    const body = req.body as Record<string, unknown>;
    if (!key || key.length > 255) throw invalidRequest("the Idempotency-Key header is required");
    if (!isChargeRequest(body)) throw invalidRequest("orderId, customerId, amount and currency, nothing else");
    const client = clientOf(req, res);
    const replay = ledger.answered(client, key);
    if (replay !== undefined) {
      res.status(201).type("json").send(replay);
      return;
    }
    const { orderId, customerId, amount, currency } = body;
    const charge = { id: `ch_${randomBytes(16).toString("base64url")}`, client, orderId, customerId, amount, currency, at: new Date().toISOString() };
    const answer = JSON.stringify({ id: charge.id, orderId, amount, currency, status: "succeeded" });
    ledger.record(charge, key, answer);
    logger.info({ charge_id: charge.id, order_id: orderId, amount, currency, status: "succeeded" }, "charge.created");
    res.status(201).type("json").send(answer);
  };
}

function isChargeRequest(body: unknown): body is { orderId: string; customerId: string; amount: number; currency: string } {
  if (typeof body !== "object" || body === null || Object.keys(body).length !== 4) return false;
  const { orderId, customerId, amount, currency } = body as Record<string, unknown>;
  return (
    typeof orderId === "string" &&
    orderId.length > 0 &&
    typeof customerId === "string" &&
    customerId.length > 0 &&
    Number.isSafeInteger(amount) &&
    (amount as number) > 0 &&
    typeof currency === "string" &&
    /^[A-Z]{3}$/.test(currency)
  );
}

/** express-oauth2-jwt-bearer's errors carry status and WWW-Authenticate; render them as RFC 6750 says. */
const renderBearerErrors: ErrorRequestHandler = (error: unknown, _req, res, next) => {
  const e = error as { status?: unknown; headers?: Record<string, string>; code?: unknown; message?: string };
  if (typeof e.status !== "number" || e.status < 400 || e.status >= 500) {
    next(error);
    return;
  }
  if (e.headers) res.set(e.headers);
  res.status(e.status).json(typeof e.code === "string" ? { error: e.code, error_description: e.message } : { error: "unauthorized" });
};

function requiredPort(port: number | undefined): number {
  if (port === undefined) throw new Error("bench: a DPoP resource needs its port chosen in advance (its public URL)");
  return port;
}

function required(issuer: string | undefined): string {
  if (issuer === undefined) throw new Error("bench: this server needs the issuer");
  return issuer;
}
