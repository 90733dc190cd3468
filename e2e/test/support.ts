import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startStack, type LogLine } from "../../scripts/stack.mjs";

export type Stack = Awaited<ReturnType<typeof startStack>> & { dataRoot: string; dispose(): Promise<void> };

/** The three built apps as separate processes, with fresh data folders. */
export async function startTestStack(env: NonNullable<Parameters<typeof startStack>[0]>["env"] = {}): Promise<Stack> {
  const dataRoot = mkdtempSync(join(tmpdir(), "m2m-e2e-"));
  const stack = await startStack({
    dataDirs: { auth: join(dataRoot, "auth"), order: join(dataRoot, "order"), payment: join(dataRoot, "payment") },
    env,
  });
  return {
    ...stack,
    dataRoot,
    async dispose() {
      await stack.stop();
      rmSync(dataRoot, { recursive: true, force: true });
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
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text so an assertion shows it
  }
  return { status: res.status, headers: res.headers, body };
}

/** `POST /token` with a form body. */
export function tokenRequest(authUrl: string, form: Record<string, string> | string, headers: Record<string, string> = {}) {
  return send(`${authUrl}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: typeof form === "string" ? form : new URLSearchParams(form).toString(),
  });
}

export async function accessToken(authUrl: string, clientId: string, secret: string, scope: string): Promise<string> {
  const res = await tokenRequest(authUrl, { grant_type: "client_credentials", scope }, { authorization: basic(clientId, secret) });
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access_token as string;
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return send(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

/** Polls until `check` returns a value, or fails after the timeout. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export type { LogLine };
