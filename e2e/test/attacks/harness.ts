// What the attack files share: a `send` that remembers every answer (so a
// file can end by checking that none leaked a stack trace or a secret), the
// contract's refusals as assertions, raw HTTP for requests fetch will not
// make, and a loopback server that counts who calls it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request, type IncomingHttpHeaders, type RequestListener } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { ROOT, freePort, spawnApp, stackEnv, stopApp, waitUntilReady } from "../../../scripts/stack.mjs";
import { send as contractSend, type LogLine, type Reply } from "../support.js";

/** Every answer this process has seen, as text: status line, headers and body. */
export const answers: string[] = [];

/** `send` from support.ts, remembering the answer for {@link expectNothingLeaked}. */
export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const reply = await contractSend(url, init);
  remember(reply.status, Object.fromEntries(reply.headers), reply.body);
  return reply;
}

function remember(status: number, headers: unknown, body: unknown) {
  answers.push(`${status} ${JSON.stringify(headers)} ${typeof body === "string" ? body : JSON.stringify(body)}`);
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return send(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

export function postForm(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}) {
  return send(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: typeof form === "string" ? form : new URLSearchParams(form).toString(),
  });
}

export const REALM = 'Bearer realm="payment-service"';

/** RFC 6750 §3.1 `invalid_token`, exactly as docs/wire-contract.md writes the challenge. */
export function expectInvalidToken(res: Reply, what = "") {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(401);
  expect(res.headers.get("www-authenticate"), what).toMatch(
    /^Bearer realm="payment-service", error="invalid_token", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/,
  );
  expect(typeof res.body, `${what}: the error body is JSON`).toBe("object");
}

/**
 * For an Authorization header that is not `Bearer b64token` at all: RFC 6750
 * §3.1 allows `invalid_request` (400, "otherwise malformed") as well as
 * `invalid_token` (401). Either way, with its exact challenge.
 */
export function expectMalformedOrInvalid(res: Reply, what = "") {
  if (res.status === 401) return expectInvalidToken(res, what);
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
  expect(res.headers.get("www-authenticate"), what).toMatch(
    /^Bearer realm="payment-service", error="invalid_request", error_description="[\x20\x21\x23-\x5b\x5d-\x7e]+"$/,
  );
}

/** RFC 6750 §3.1 `insufficient_scope`, exactly as docs/wire-contract.md writes the challenge. */
export function expectInsufficientScope(res: Reply, scope = "charge:customer", what = "") {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(403);
  expect(res.headers.get("www-authenticate"), what).toBe(`${REALM}, error="insufficient_scope", scope="${scope}"`);
}

/** RFC 6749 §5.2 error answer of the token endpoint. */
export function expectOAuthError(res: Reply, status: number, error: string, what = "") {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(status);
  expect(res.body, what).toMatchObject({ error });
  expect(res.headers.get("cache-control"), what).toContain("no-store");
}

/** A `Retry-After` of delay-seconds (RFC 9110 §10.2.3) no longer than the contract's one-minute window. */
export function expectRetryAfter(header: string | string[] | null | undefined) {
  const value = String(header ?? "");
  expect(value).toMatch(/^\d+$/);
  expect(Number(value)).toBeGreaterThan(0);
  expect(Number(value)).toBeLessThanOrEqual(60);
}

/**
 * No answer carried a stack trace, an internal path, a CORS grant or any of
 * `secrets` (docs/wire-contract.md: "no stack trace or internal detail ever reaches a
 * client").
 */
export function expectNothingLeaked(secrets: string[]) {
  expect(answers.length).toBeGreaterThan(0);
  for (const answer of answers) {
    expect(answer, "a stack frame").not.toMatch(/\bat [\w.<>]+ \(|\n\s+at |node:internal|node_modules|\/dist\/|\.ts:\d+/);
    for (const secret of secrets) expect(answer.includes(secret), `an answer holds the secret ${secret.slice(0, 6)}…`).toBe(false);
    // Service-to-service endpoints: no browser page may read their answers (token responses above all).
    expect(answer.toLowerCase(), "a CORS grant").not.toContain("access-control-allow-origin");
  }
}

/** Log lines must not hold any of `secrets` (client secrets, whole tokens, assertions). */
export function expectNotLogged(logs: unknown[], secrets: string[]) {
  expect(logs.length).toBeGreaterThan(0);
  const text = logs.map((line) => JSON.stringify(line)).join("\n");
  for (const secret of secrets) expect(text.includes(secret), `the logs hold ${secret.slice(0, 12)}…`).toBe(false);
}

/**
 * A loopback server that records every request it gets: the target of a
 * `jku` or `x5u` header, which no verifier may ever fetch.
 */
export async function countingServer(handler: RequestListener) {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface RawReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** `text` parsed as JSON, or `text` itself when it is not JSON. */
  body: any;
}

/**
 * One HTTP request through node:http, for what fetch cannot say: a chosen
 * source address on the loopback network (127.0.0.2 … are all this host,
 * so one test can be many clients) and headers larger than any sane limit.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; from?: string } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        ...(options.from ? { localAddress: options.from } : {}),
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // keep the text
          }
          remember(res.statusCode ?? 0, res.headers, body);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer from ${url}`)));
    req.on("error", reject);
    req.end(options.body);
  });
}

/**
 * Writes `head` (request line and headers, CRLF-separated, no final blank
 * line) on a bare TCP socket and returns the status of whatever answer comes
 * back before the server closes, for requests too large for an HTTP client:
 * a server that refuses an oversized header closes the connection right after
 * its 431, which an HTTP client still writing may see as a reset.
 */
export function rawExchange(url: string, head: string): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: hostname, port: Number(port) });
    const done = () => {
      const text = Buffer.concat(chunks).toString("latin1");
      answers.push(text);
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    socket.setTimeout(15_000, () => socket.destroy(new Error(`no answer from ${url}`)));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("close", done);
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "ECONNRESET" && error.code !== "EPIPE") reject(error);
    });
    socket.end(`${head}\r\nConnection: close\r\n\r\n`);
  });
}

/** `rawRequest` with a form body, for `/token` from a chosen source address. */
export function rawTokenRequest(authUrl: string, form: Record<string, string>, from: string, headers: Record<string, string> = {}) {
  return rawRequest(`${authUrl}/token`, {
    method: "POST",
    from,
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

/**
 * A client secret hash for the registry file, made by the auth-server's own
 * command (`printf %s "$SECRET" | npm run -s hash-secret -w apps/auth-server`),
 * run here as node directly to save npm's start-up.
 */
export function hashSecret(secret: string): string {
  const command = join(ROOT, "apps", "auth-server", "dist", "commands", "hash-secret.js");
  return execFileSync(process.execPath, [command], { input: secret, stdio: ["pipe", "pipe", "ignore"] }).toString().trim();
}

export interface AuthServer {
  url: string;
  logs: LogLine[];
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The built auth-server alone, as `npm start -w apps/auth-server` runs it,
 * with a fresh DATA_DIR: the token endpoint attacks need nothing else.
 */
export async function startAuthServer(env: Record<string, string> = {}): Promise<AuthServer> {
  const dataDir = mkdtempSync(join(tmpdir(), "m2m-attack-auth-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs: LogLine[] = [];
  const app = spawnApp("auth-server", { PORT: String(port), ISSUER: url, DATA_DIR: join(dataDir, "data"), ...env }, (line: LogLine) => {
    logs.push(line);
  });
  const stop = async () => {
    await stopApp(app);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(`${url}/readyz`, app);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, logs, dataDir, stop };
}

/** Writes a CLIENTS_FILE (the registry format of packages/token-issuer, registry-file.ts) into `dir`. */
export function writeClientsFile(dir: string, registry: unknown): string {
  const file = join(dir, "clients.json");
  writeFileSync(file, JSON.stringify(registry, null, 2), { mode: 0o600 });
  return file;
}

/**
 * The built auth-server and payment-service alone, as `npm start` runs them,
 * with fresh data folders: for attacks that need no order-service.
 */
export async function startIssuerAndResource(authEnv: Record<string, string> = {}) {
  const root = mkdtempSync(join(tmpdir(), "m2m-attack-pair-"));
  const auth = await freePort();
  const payment = await freePort();
  const env = stackEnv({ auth, payment, order: 0 }, { auth: join(root, "auth"), payment: join(root, "payment") });
  const logs: LogLine[] = [];
  const started: ReturnType<typeof spawnApp>[] = [];
  const stop = async () => {
    for (const app of started.reverse()) await stopApp(app);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const [name, extra] of [["auth-server", authEnv], ["payment-service", {}]] as const) {
      const app = spawnApp(name, { ...env[name], ...extra }, (line: LogLine) => logs.push(line));
      started.push(app);
      await waitUntilReady(`${app.url}/readyz`, app);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: { auth: env["auth-server"].ISSUER!, payment: `http://127.0.0.1:${payment}` }, authDataDir: join(root, "auth"), logs, stop };
}
