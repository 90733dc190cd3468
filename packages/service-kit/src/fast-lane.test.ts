import { request as httpRequest, type Server } from "node:http";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HttpError } from "./errors.js";
import { withFastLane, type FastRoute } from "./fast-lane.js";
import { createBaseApp, finishApp, isPlainJsonContentType, jsonBody, parseJsonBody } from "./http.js";
import { closeServer, listen, serverUrl } from "./lifecycle.js";
import { createLogger } from "./logger.js";

let server: Server | undefined;
let lines: Record<string, unknown>[] = [];
const capture = new Writable({
  write(chunk, _enc, done) {
    for (const line of String(chunk).trim().split("\n")) lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  },
});

beforeEach(() => {
  lines = [];
});
afterEach(async () => {
  if (server) await closeServer(server);
  server = undefined;
});

/** An app whose Express route and fast route answer `/echo` alike but say which one answered. */
async function start(route: Partial<FastRoute> = {}): Promise<string> {
  const logger = createLogger({ service: "test", destination: capture });
  const app = createBaseApp({ logger, ready: () => true });
  app.post("/echo", jsonBody(), (req, res) => {
    res.set("Cache-Control", "no-store").set("Answered-By", "express").json({ echo: req.body as unknown });
  });
  finishApp(app, logger);
  const lane: FastRoute = {
    method: "POST",
    path: "/echo",
    bodyLimit: 64,
    headers: { "Cache-Control": "no-store", "Answered-By": "lane" },
    accepts: (req) => isPlainJsonContentType(req.headers["content-type"]),
    serve: (_req, body) => ({ status: 200, body: { echo: parseJsonBody(body) } }),
    ...route,
  };
  server = await listen(withFastLane(app, [lane], logger), 0, "127.0.0.1");
  return serverUrl(server);
}

function post(url: string, body: string, headers: Record<string, string> = { "content-type": "application/json" }): Promise<Response> {
  return fetch(url, { method: "POST", headers, body });
}

/** A request with a chunked body, which fetch cannot be made to send. */
function postChunked(url: string, body: string): Promise<{ status: number; headers: Record<string, unknown>; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as unknown }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the fast lane", () => {
  it("serves the plain request of its route, with the base app's headers and its own", async () => {
    const url = await start();
    const res = await post(`${url}/echo`, '{"a":1}', { "content-type": "application/json", "x-request-id": "abc-123" });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ echo: { a: 1 } });
    expect(res.headers.get("answered-by")).toBe("lane");
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(lines.filter((l) => l.msg === "http.request")).toEqual([
      expect.objectContaining({ req_id: "abc-123", method: "POST", path: "/echo", status: 200, level: "info" }),
    ]);
  });

  it.each([
    ["a query string", "/echo?x=1", { "content-type": "application/json" }],
    ["another media type", "/echo", { "content-type": "text/plain" }],
    ["a charset other than UTF-8", "/echo", { "content-type": "application/json; charset=latin1" }],
    ["a trailing slash", "/echo/", { "content-type": "application/json" }],
  ])("leaves a request with %s to Express", async (_what, path, headers) => {
    const url = await start();
    const res = await post(`${url}${path}`, '{"a":1}', headers);
    expect(res.headers.get("answered-by") ?? "express (an error)").toMatch(/express/);
  });

  it("leaves a body larger than its limit, and a chunked body, to Express", async () => {
    const url = await start();
    const large = await post(`${url}/echo`, JSON.stringify({ pad: "x".repeat(100) }));
    expect(large.headers.get("answered-by")).toBe("express");
    const chunked = await postChunked(`${url}/echo`, '{"b":2}');
    expect(chunked).toMatchObject({ status: 200, body: { echo: { b: 2 } }, headers: { "answered-by": "express" } });
  });

  it("renders a route's error as the app does, its headers replacing the route's", async () => {
    const url = await start({
      serve: () => {
        throw new HttpError(429, "slow_down", "wait", { "Retry-After": "3", "Cache-Control": "no-store, private" });
      },
    });
    const res = await post(`${url}/echo`, "{}");
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: "slow_down", error_description: "wait" });
    expect(res.headers.get("retry-after")).toBe("3");
    expect(res.headers.get("cache-control")).toBe("no-store, private");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("answers a rejected promise the same way, and a malformed body with invalid_request", async () => {
    const url = await start({ serve: () => Promise.reject(new HttpError(409, "conflict")) });
    const res = await post(`${url}/echo`, "{}");
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: "conflict" });
    await closeServer(server!);
    const plain = await start();
    for (const body of ['"just a string"', "{bad json", "\u00a0{}"]) {
      const bad = await post(`${plain}/echo`, body);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: "invalid_request", error_description: "the request body is not valid JSON" });
    }
  });

  it("turns an unexpected error into server_error, the cause in the log only", async () => {
    const url = await start({
      serve: () => {
        throw new Error("database password is hunter2");
      },
    });
    const res = await post(`${url}/echo`, "{}");
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: "server_error", error_description: "internal error" });
    expect(text).not.toContain("hunter2");
    expect(lines.find((l) => l.msg === "http.unhandled_error")).toBeDefined();
    expect(lines.find((l) => l.msg === "http.request")).toMatchObject({ status: 500, level: "error" });
  });

  it("writes no http.request line for a success of a route that logs its own, but does for its errors", async () => {
    let fail = false;
    const url = await start({
      logsSuccess: true,
      serve: () => {
        if (fail) throw new HttpError(400, "invalid_request", "no");
        return { status: 201, body: {} };
      },
    });
    expect((await post(`${url}/echo`, "{}")).status).toBe(201);
    fail = true;
    expect((await post(`${url}/echo`, "{}")).status).toBe(400);
    expect(lines.filter((l) => l.msg === "http.request").map((l) => l.status)).toEqual([400]);
  });
});

describe("parseJsonBody", () => {
  it("parses as jsonBody does: empty is {}, the top level an object or an array", () => {
    expect(parseJsonBody(Buffer.from(""))).toEqual({});
    expect(parseJsonBody(Buffer.from(' \n\t{"a":[1]}'))).toEqual({ a: [1] });
    expect(parseJsonBody(Buffer.from("[1]"))).toEqual([1]);
    expect(() => parseJsonBody(Buffer.from("1"))).toThrow(/not valid JSON/);
    expect(() => parseJsonBody(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(/not valid JSON/);
  });

  it("takes application/json alone or with a UTF-8 charset as the plain case", () => {
    expect(isPlainJsonContentType("application/json")).toBe(true);
    expect(isPlainJsonContentType("Application/JSON; charset=UTF-8")).toBe(true);
    expect(isPlainJsonContentType('application/json;charset="utf-8"')).toBe(true);
    expect(isPlainJsonContentType("application/json; charset=utf-16")).toBe(false);
    expect(isPlainJsonContentType("application/jsonx")).toBe(false);
    expect(isPlainJsonContentType(undefined)).toBe(false);
  });
});
