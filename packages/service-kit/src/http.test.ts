import type { Server } from "node:http";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "./config.js";
import { HttpError } from "./errors.js";
import { createBaseApp, finishApp, jsonBody } from "./http.js";
import { closeServer, listen, serverUrl } from "./lifecycle.js";
import { createLogger, silentLogger } from "./logger.js";

let server: Server | undefined;
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
});

const logLines: Record<string, unknown>[] = [];
const capture = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).trim().split("\n")) logLines.push(JSON.parse(line));
    done();
  },
});

async function start(ready = true, logger = silentLogger()) {
  const app = createBaseApp({ logger, ready: () => ready });
  app.post("/echo", jsonBody("1kb"), (req, res) => {
    res.json(req.body);
  });
  app.get("/teapot", () => {
    throw new HttpError(418, "teapot", "short and stout", { "Retry-After": "3" });
  });
  app.get("/boom", () => {
    throw new Error("database password is hunter2");
  });
  finishApp(app, logger);
  server = await listen(app, 0, "127.0.0.1");
  return serverUrl(server);
}

describe("the base app", () => {
  it("answers /healthz always and /readyz only when ready", async () => {
    const url = await start(false);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toEqual({ status: "not_ready" });
  });

  it("renders exposable errors with their status, headers and body", async () => {
    const url = await start();
    const res = await fetch(`${url}/teapot`);
    expect(res.status).toBe(418);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(await res.json()).toEqual({ error: "teapot", error_description: "short and stout" });
  });

  it("turns an unexpected error into server_error without any internal detail", async () => {
    const url = await start();
    const res = await fetch(`${url}/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "server_error", error_description: "internal error" });
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("at ");
  });

  it("answers malformed and oversized JSON with invalid_request", async () => {
    const url = await start();
    const bad = await fetch(`${url}/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe("invalid_request");
    const big = await fetch(`${url}/echo`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ a: "x".repeat(4096) }),
    });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBe("invalid_request");
  });

  it("answers unknown paths with a JSON 404 and sets security headers and a request id", async () => {
    const url = await start();
    const res = await fetch(`${url}/nope`, { headers: { "x-request-id": "abc-123" } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "not_found", error_description: "no such resource" });
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-powered-by")).toBeNull();
    expect(res.headers.get("x-request-id")).toBe("abc-123");
  });
});

describe("listen", () => {
  it("names PORT in one line when the port is taken", async () => {
    const url = await start();
    const port = Number(new URL(url).port);
    const app = createBaseApp({ logger: silentLogger(), ready: () => true });
    await expect(listen(app, port, "127.0.0.1")).rejects.toThrow(
      new ConfigError(`invalid PORT: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`),
    );
  });
});

describe("the request log", () => {
  it("puts the request's id on every line written while serving it, awaited work included, and only once", async () => {
    const logger = createLogger({ service: "kit-test", destination: capture });
    const app = createBaseApp({ logger, ready: () => true });
    app.get("/work", async (_req, res) => {
      logger.info({ step: 1 }, "work.started");
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info({ step: 2 }, "work.done");
      res.json({ ok: true });
    });
    finishApp(app, logger);
    server = await listen(app, 0, "127.0.0.1");
    const url = serverUrl(server);
    logLines.length = 0;
    await Promise.all([fetch(`${url}/work`, { headers: { "x-request-id": "req-a" } }), fetch(`${url}/work`, { headers: { "x-request-id": "req-b" } })]);
    logger.info("after.requests");
    const byId = (id: string) => logLines.filter((l) => l.req_id === id).map((l) => l.msg);
    expect(byId("req-a")).toEqual(["work.started", "work.done", "http.request"]);
    expect(byId("req-b")).toEqual(["work.started", "work.done", "http.request"]);
    expect(logLines.find((l) => l.msg === "after.requests")).not.toHaveProperty("req_id");
    logLines.length = 0;
  });

  it("never writes req_id twice on a line", async () => {
    const lines: string[] = [];
    const raw = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).trim().split("\n"));
        done();
      },
    });
    const logger = createLogger({ service: "kit-test", destination: raw });
    const app = createBaseApp({ logger, ready: () => true });
    finishApp(app, logger);
    server = await listen(app, 0, "127.0.0.1");
    await fetch(`${serverUrl(server)}/nope`, { headers: { "x-request-id": "req-c" } });
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line.match(/"req_id"/g)?.length ?? 0).toBeLessThanOrEqual(1);
  });

  it("writes one line per response with the request id, method, path without query, status and duration", async () => {
    const url = await start(true, createLogger({ service: "kit-test", destination: capture }));
    await fetch(`${url}/teapot?access_token=leaked`, { headers: { "x-request-id": "req-7" } });
    await fetch(`${url}/healthz`);
    await fetch(`${url}/nope`);
    const lines = logLines.filter((l) => l.msg === "http.request");
    // the successful health probe is not logged: it would be most of the log of an idle service
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ path: "/nope", status: 404 });
    expect(lines[0]).toMatchObject({ service: "kit-test", req_id: "req-7", method: "GET", path: "/teapot", status: 418 });
    expect(typeof lines[0]!.ms).toBe("number");
    expect(JSON.stringify(lines)).not.toContain("leaked");
    expect(lines[1]!.req_id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
