/**
 * What the payment-service tests share: a stand-in auth server on 127.0.0.1
 * (RFC 8414 metadata and a JWK Set of keys generated here, which can be made
 * to fail), tokens minted with jose, the service started in-process on port 0
 * with a temp DATA_DIR, and its log lines captured.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@m2m/service-kit";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";
import { loadConfig } from "../src/config.js";
import { startPaymentService, type RunningPaymentService, type StartOptions } from "../src/server.js";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256");
  const kid = randomUUID();
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" } };
}

export class AuthStub {
  failing = false;
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private signing: SigningKey,
  ) {}

  static async start(): Promise<AuthStub> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const stub = new AuthStub(server, url, await newSigningKey());
    server.on("request", (req, res) => {
      if (stub.failing) return void res.writeHead(503).end();
      res.setHeader("content-type", "application/json");
      if (req.url === "/.well-known/oauth-authorization-server") res.end(JSON.stringify({ issuer: url, jwks_uri: `${url}/jwks` }));
      else if (req.url === "/jwks") res.end(JSON.stringify({ keys: [stub.signing.jwk] }));
      else res.writeHead(404).end("{}");
    });
    return stub;
  }

  /** The `kid` of the key it signs with, the only one it publishes. */
  get kid(): string {
    return this.signing.kid;
  }

  /** Withdraws the signing key at once (no longer published, as after a compromise) and signs with a new one. */
  async withdrawKey(): Promise<void> {
    this.signing = await newSigningKey();
  }

  /** An access token as the real auth server issues them; `claims` override (undefined removes). */
  token(claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}, key: CryptoKey = this.signing.privateKey): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = {
      iss: this.url,
      sub: "order-service",
      client_id: "order-service",
      aud: "payment-service",
      scope: "charge:customer",
      iat: now,
      exp: now + 300,
      jti: randomUUID(),
      ...claims,
    };
    return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: this.kid, ...header }).sign(key);
  }

  /** A token of reporting-service, which may only read charges. */
  readToken(): Promise<string> {
    return this.token({ sub: "reporting-service", client_id: "reporting-service", scope: "charge:read" });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

export type LogLine = { msg: string; service: string; [field: string]: unknown };

export interface TestService {
  running: RunningPaymentService;
  url: string;
  dataDir: string;
  logs: LogLine[];
  events(msg: string): LogLine[];
}

/** Starts payment-service in-process on port 0 against `auth`, with a temp DATA_DIR unless given one. */
export async function startService(
  auth: AuthStub,
  options: { dataDir?: string; env?: Record<string, string> } & Omit<StartOptions, "logger"> = {},
): Promise<TestService> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "payment-service-"));
  const config = loadConfig({ PORT: "0", AUTH_SERVER_URL: auth.url, DATA_DIR: dataDir, ...options.env });
  const logs: LogLine[] = [];
  const logger = createLogger({
    service: "payment-service",
    destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  });
  const running = await startPaymentService(config, { logger, processor: options.processor, clock: options.clock });
  return { running, url: running.url, dataDir, logs, events: (msg) => logs.filter((line) => line.msg === msg) };
}

/** Waits until `condition` holds, polling; fails the test after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface Reply {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export const newCharge = (overrides: Record<string, unknown> = {}) => ({
  orderId: `ord_${randomUUID()}`,
  customerId: "cus_1",
  amount: 1299,
  currency: "EUR",
  ...overrides,
});

/** `POST /charge` with a token and an Idempotency-Key (either may be left out with `null`). */
export function postCharge(
  service: { url: string },
  body: unknown,
  options: { token?: string | null; key?: string | null; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.key !== null) headers["idempotency-key"] = options.key ?? randomUUID();
  return send(`${service.url}/charge`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}
