import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLogger } from "@m2m/service-kit";
import { afterAll } from "vitest";
import { loadConfig } from "../src/config.js";
import { startAuthServer, type RunningAuthServer } from "../src/server.js";

export const ISSUER = "http://auth.test";

export interface LogLine {
  msg: string;
  [field: string]: unknown;
}

export interface TestServer extends RunningAuthServer {
  dataDir: string;
  logs: LogLine[];
  /** Raw log output, to check that no secret ever reaches it. */
  rawLogs: () => string;
  clock: { now: number };
  dispose(): Promise<void>;
}

const tempDirs: string[] = [];
// every folder tempDir() made goes when the test file ends, whoever forgot it
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the OS temp dir, removed when the test file ends. */
export function tempDir(prefix = "auth-server-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/**
 * The auth server in-process on 127.0.0.1 port 0, with a temp DATA_DIR, a
 * movable clock, and its log lines captured.
 */
export async function startTestServer(env: Record<string, string> = {}, options: { dataDir?: string; now?: number } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", ISSUER, DATA_DIR: dataDir, ...env });
  const logs: LogLine[] = [];
  const raw: string[] = [];
  const logger = createLogger({
    service: "auth-server",
    destination: {
      write(line: string) {
        raw.push(line);
        logs.push(JSON.parse(line) as LogLine);
      },
    },
  });
  const clock = { now: options.now ?? Date.now() };
  const running = await startAuthServer(config, { logger, clock: () => clock.now });
  return {
    ...running,
    dataDir,
    logs,
    rawLogs: () => raw.join(""),
    clock,
    async dispose() {
      await running.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const basic = (id: string, secret: string) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

export interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

export async function send(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * A form POST from a given loopback source address (any of 127.0.0.0/8 can
 * be bound on Linux), so a test can play callers at several addresses.
 */
export function postFormFrom(
  from: string,
  url: string,
  form: Record<string, string>,
  // an array is sent as that many fields of the header
  headers: Record<string, string | string[]> = {},
): Promise<Reply> {
  const body = new URLSearchParams(form).toString();
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: "POST", localAddress: from, agent: false, headers: { "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body), ...headers } },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) if (typeof value === "string") responseHeaders.set(name, value);
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode ?? 0, headers: responseHeaders, body: parsed });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A form POST (the token and introspection endpoints). */
export function postForm(url: string, form: Record<string, string> | string, headers: Record<string, string> = {}): Promise<Reply> {
  return send(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: typeof form === "string" ? form : new URLSearchParams(form).toString(),
  });
}

export const ORDER_SERVICE = basic("order-service", "super-secret");
export const REPORTING_SERVICE = basic("reporting-service", "reporting-secret");

export async function token(server: { url: string }, authorization = ORDER_SERVICE, form: Record<string, string> = {}): Promise<string> {
  const res = await postForm(`${server.url}/token`, { grant_type: "client_credentials", ...form }, { authorization });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

/** Asserts the shape every /token and /introspect error shares. */
export function oauthError(res: Reply): { status: number; error: string } {
  if (typeof res.body?.error_description !== "string") throw new Error(`no error_description in ${JSON.stringify(res.body)}`);
  if (!res.headers.get("cache-control")?.includes("no-store")) throw new Error("error without Cache-Control: no-store");
  return { status: res.status, error: res.body.error as string };
}
