import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accessToken, basic, startTestStack, type Stack } from "../support.js";
import { expectInvalidToken, expectNothingLeaked, expectNotLogged, rawExchange, rawRequest, send, type RawReply } from "./harness.js";

// Oversized and malformed requests at all three live apps: each is refused
// cleanly with a 4xx (431 for headers, 413 for bodies, 400 for malformed
// ones), the process stays up (/healthz after), and no answer carries a stack
// trace (docs/wire-contract.md: "no stack trace or internal detail ever reaches a
// client").
let stack: Stack;
let token: string;
beforeAll(async () => {
  stack = await startTestStack();
  token = await accessToken(stack.urls.auth, "order-service", "super-secret", "charge:customer");
});
afterAll(async () => {
  await stack?.dispose();
});

const MB = 1024 * 1024;
const apps = () => Object.entries(stack.urls);
const json = (res: RawReply) => {
  try {
    return JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};
const chargeBody = () => JSON.stringify({ orderId: `ord_${randomUUID()}`, customerId: "cus_1", amount: 1299, currency: "EUR" });
const chargeHeaders = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  "idempotency-key": randomUUID(),
  "content-type": "application/json",
  ...extra,
});
const form = { "content-type": "application/x-www-form-urlencoded", authorization: basic("order-service", "super-secret") };

describe("oversized headers", () => {
  it("answers 431 to a 24 KB header, URL or Authorization on every app, and stays up", async () => {
    // 24 KB: past Node's 16 KiB limit, small enough to arrive in one read, so the 431 is not lost to a reset.
    const filler = "a".repeat(24 * 1024);
    for (const [name, url] of apps()) {
      const host = `Host: ${new URL(url).host}`;
      const cases = {
        "a big header": `GET /healthz HTTP/1.1\r\n${host}\r\nX-Filler: ${filler}`,
        "a big URL": `GET /${filler} HTTP/1.1\r\n${host}`,
        "a big Authorization": `POST /charge HTTP/1.1\r\n${host}\r\nAuthorization: Bearer ${filler}\r\nContent-Length: 0`,
      };
      for (const [what, head] of Object.entries(cases)) {
        const res = await rawExchange(url, head);
        expect([414, 431], `${name}, ${what}: ${res.text.slice(0, 80)}`).toContain(res.status);
      }
      expect((await send(`${url}/healthz`)).status, name).toBe(200);
    }
  });

  it("answers 400 to request smuggling shapes (Content-Length with chunked, two Content-Lengths), and stays up", async () => {
    for (const [name, url] of apps()) {
      const host = `Host: ${new URL(url).host}`;
      const cases = {
        "CL and TE": `POST /charge HTTP/1.1\r\n${host}\r\nContent-Length: 4\r\nTransfer-Encoding: chunked`,
        "two CLs": `POST /charge HTTP/1.1\r\n${host}\r\nContent-Length: 4\r\nContent-Length: 5`,
      };
      for (const [what, head] of Object.entries(cases)) {
        const res = await rawExchange(url, head);
        expect(res.status, `${name}, ${what}: ${res.text.slice(0, 80)}`).toBe(400);
      }
      expect((await send(`${url}/healthz`)).status, name).toBe(200);
    }
  });

  it("refuses a large but admissible bearer token as invalid_token, not as a crash", async () => {
    const res = await send(`${stack.urls.payment}/charge`, { method: "POST", headers: chargeHeaders({ authorization: `Bearer ${"a".repeat(12_000)}` }), body: chargeBody() });
    expectInvalidToken(res, "12 KB of token");
    const jwtShaped = `${Buffer.from(JSON.stringify({ alg: "RS256", typ: "at+jwt", kid: "x", pad: "p".repeat(6000) })).toString("base64url")}.e30.AA`;
    expectInvalidToken(await send(`${stack.urls.payment}/charge`, { method: "POST", headers: chargeHeaders({ authorization: `Bearer ${jwtShaped}` }), body: chargeBody() }), "a padded header");
  });

  it("never fails with 5xx on a long Idempotency-Key", async () => {
    const res = await send(`${stack.urls.payment}/charge`, { method: "POST", headers: chargeHeaders({ "idempotency-key": "k".repeat(8000) }), body: chargeBody() });
    expect(res.status).toBeLessThan(500);
  });
});

describe("oversized bodies", () => {
  it("answers 413 to a 2 MB body on /token, /introspect, /charge and /orders", async () => {
    const big = (prefix: string) => `${prefix}${"a".repeat(2 * MB)}`;
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ["/token", `${stack.urls.auth}/token`, form, big("grant_type=client_credentials&scope=")],
      ["/introspect", `${stack.urls.auth}/introspect`, form, big("token=")],
      ["/charge", `${stack.urls.payment}/charge`, chargeHeaders(), JSON.stringify({ orderId: big("ord_"), customerId: "c", amount: 1, currency: "EUR" })],
      ["/orders", `${stack.urls.order}/orders`, { "content-type": "application/json" }, JSON.stringify({ customerId: big("c"), amount: 1, currency: "EUR" })],
    ];
    for (const [what, url, headers, body] of cases) {
      const res = await rawRequest(url, { method: "POST", headers, body });
      expect(res.status, what).toBe(413);
      expect(json(res), `${what}: a JSON error body`).toMatchObject({ error: expect.any(String) });
    }
  });

  it("refuses a chunked body that grows past the limit, with no Content-Length to warn", async () => {
    const res = await rawRequest(`${stack.urls.payment}/charge`, {
      method: "POST",
      headers: { ...chargeHeaders(), "transfer-encoding": "chunked" },
      body: JSON.stringify({ orderId: `ord_${"a".repeat(MB)}`, customerId: "c", amount: 1, currency: "EUR" }),
    });
    expect(res.status).toBe(413);
  });

  it("refuses too many form parameters on /token as invalid_request (or 413), never 5xx", async () => {
    const params = Array.from({ length: 1000 }, (_, i) => `p${i}=x`).join("&");
    const res = await rawRequest(`${stack.urls.auth}/token`, { method: "POST", headers: form, body: `grant_type=client_credentials&${params}` });
    expect([400, 413]).toContain(res.status);
    if (res.status === 400) expect(json(res)).toMatchObject({ error: "invalid_request" });
  });
});

describe("malformed bodies", () => {
  it("answers 400 invalid_request to broken JSON, JSON that is not an object, and deep nesting", async () => {
    const bodies: Record<string, string | Buffer> = {
      "broken JSON": '{"orderId": ',
      "a bare string": '"charge"',
      "an array": "[]",
      null: "null",
      "deep nesting": `${"[".repeat(5000)}${"]".repeat(5000)}`,
      "__proto__ smuggling": `{"orderId":"ord_${randomUUID()}","customerId":"c","currency":"EUR","__proto__":{"amount":1299}}`,
      "invalid UTF-8": Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    };
    for (const [what, body] of Object.entries(bodies)) {
      for (const [url, headers] of [
        [`${stack.urls.payment}/charge`, chargeHeaders()],
        [`${stack.urls.order}/orders`, { "content-type": "application/json" }],
      ] as const) {
        const res = await rawRequest(url, { method: "POST", headers, body });
        expect(res.status, `${url}: ${what}: ${res.text}`).toBe(400);
        expect(json(res), `${url}: ${what}`).toMatchObject({ error: "invalid_request" });
      }
    }
  });

  it("answers 4xx to a body in another media type than the endpoint takes", async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      [`${stack.urls.payment}/charge`, chargeHeaders({ "content-type": "text/plain" }), chargeBody()],
      [`${stack.urls.payment}/charge`, chargeHeaders({ "content-type": "application/x-www-form-urlencoded" }), "orderId=o&customerId=c&amount=1&currency=EUR"],
      [`${stack.urls.auth}/token`, { ...form, "content-type": "multipart/form-data; boundary=x" }, "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\nclient_credentials\r\n--x--\r\n"],
      [`${stack.urls.auth}/token`, { ...form, "content-type": "application/x-www-form-urlencoded; charset=utf-16" }, "grant_type=client_credentials"],
    ];
    for (const [url, headers, body] of cases) {
      const res = await rawRequest(url, { method: "POST", headers, body });
      expect(res.status, `${url} ${headers["content-type"]}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${url} ${headers["content-type"]}`).toBeLessThan(500);
    }
  });

  it("answers 400 invalid_request to a form with bad percent-encoding or invalid UTF-8", async () => {
    for (const body of ["grant_type=client_credentials&scope=%", "grant_type=client_credentials&scope=%ZZ", "grant_type=client_credentials&scope=%C3%28"]) {
      const res = await rawRequest(`${stack.urls.auth}/token`, { method: "POST", headers: form, body });
      expect(res.status, body).toBe(400);
      expect(json(res), body).toMatchObject({ error: "invalid_request" });
    }
  });
});

describe("injection into the stores", () => {
  const nasty = ["' OR '1'='1", "1; DROP TABLE charges; --", "../../etc/passwd", "%00", "\u0000", "x".repeat(4000), "😀"];

  it("looks up charges and orders by id without injection: 404 for every made-up id, never 5xx", async () => {
    const readToken = await accessToken(stack.urls.auth, "reporting-service", "reporting-secret", "charge:read");
    for (const id of nasty) {
      const charge = await send(`${stack.urls.payment}/charges/${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${readToken}` } });
      expect([400, 404], `charge ${id.slice(0, 20)}`).toContain(charge.status);
      const order = await send(`${stack.urls.order}/orders/${encodeURIComponent(id)}`);
      expect([400, 404], `order ${id.slice(0, 20)}`).toContain(order.status);
    }
  });

  it("stores hostile strings as data: a charge with them is charged once, and its key still deduplicates", async () => {
    // Printable ASCII without spaces: what the contract's ids and keys may hold.
    for (const value of ["'OR'1'='1'--", "1;DROP/**/TABLE/**/charges;--", "../../etc/passwd", "\\x00\\'", "$" + "{jndi:ldap://x}"]) {
      const key = `idem-${value}`;
      const body = JSON.stringify({ orderId: `ord_${value}_${randomUUID()}`, customerId: value, amount: 1299, currency: "EUR" });
      const first = await rawRequest(`${stack.urls.payment}/charge`, { method: "POST", headers: chargeHeaders({ "idempotency-key": key }), body });
      const again = await rawRequest(`${stack.urls.payment}/charge`, { method: "POST", headers: chargeHeaders({ "idempotency-key": key }), body });
      expect(first.status, `${value}: ${first.text}`).toBe(201);
      expect([200, 201], value).toContain(again.status);
      expect(json(again)?.id, value).toBe(json(first)?.id);
    }
  });
});

describe("afterwards", () => {
  it("every app is up, no answer leaked a stack trace or a secret, and nothing secret was logged", async () => {
    for (const [name, url] of apps()) expect((await send(`${url}/healthz`)).status, name).toBe(200);
    expectNothingLeaked(["super-secret", "reporting-secret"]);
    expectNotLogged(stack.logs, ["super-secret", token]);
    expect(stack.logs.filter((l) => l.msg === "http.unhandled_error")).toEqual([]);
  });
});
