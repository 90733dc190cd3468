// Property-based tests (fast-check) of POST /token over HTTP, the auth server
// in-process on 127.0.0.1: any body, Content-Type and Authorization header.
// Properties: never a 5xx, every refusal an RFC 6749 §5.2 error body, nothing
// stored unless the request held a registered client's credentials (no
// trusted caller, no used assertion id in the SQLite state: a client that
// did authenticate is trusted at its address even when its grant is then
// refused, by design), and the
// same answer for the same parameters however they are ordered and escaped.
// Each request comes from its own loopback address (all of 127.0.0.0/8 is
// this host) and the server's clock moves a minute between requests, so the
// failure limiter does not turn every answer into 429. A failure prints the
// seed.
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { STATE_FILE } from "../src/store.js";
import { basic, postFormFrom, startTestServer, type Reply, type TestServer } from "./support.js";

// PROPERTY_RUNS_SCALE shrinks every run count
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;

let server: TestServer;
let state: Database.Database;
beforeAll(async () => {
  server = await startTestServer();
  state = new Database(join(server.dataDir, STATE_FILE), { readonly: true, fileMustExist: true });
});
afterAll(async () => {
  state?.close();
  await server?.dispose();
});

/** Rows in the state a request could add: trusted (client, address) pairs and used assertion ids. */
function stored(): number {
  const count = (table: string) => (state.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  return count("trusted_callers") + count("used_identifiers");
}

let next = 0;
/** A loopback address no other request of this file used. */
function freshAddress(): string {
  next += 1;
  return `127.${40 + ((next >> 16) & 0xff)}.${(next >> 8) & 0xff}.${next & 0xff || 1}`;
}

/** POST /token with a raw body, from a fresh address, a minute after the last one (a new failure-limiter window). */
function post(body: string, headers: Record<string, string>): Promise<Reply> {
  server.clock.now += 61_000;
  return postFormFrom(freshAddress(), `${server.url}/token`, body as never, headers);
}

const GOOD_BASIC = basic("order-service", "super-secret");
/** Whether a request carries a registered client's right secret, the only way this test's requests can authenticate. */
const mayAuthenticate = (body: string, authorization: string | undefined) =>
  authorization === GOOD_BASIC || /(^|&)client_secret=(super-secret|reporting-secret)(&|$)/.test(body);

function expectNoServerError(res: Reply, what: string) {
  expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBeLessThan(500);
  if (res.status >= 400) {
    expect(typeof res.body, what).toBe("object");
    expect(res.body.error, what).toMatch(/^(invalid_request|invalid_client|unsupported_grant_type|invalid_scope|invalid_target|temporarily_unavailable)$/);
  }
}

const formEncode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2);
const percentEncodeAll = (value: string) => [...Buffer.from(value)].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");

const names = fc.constantFrom("grant_type", "scope", "client_id", "client_secret", "resource", "audience", "client_assertion", "client_assertion_type", "x");
const values = fc.oneof(
  fc.constantFrom("client_credentials", "charge:customer", "charge:read", "order-service", "super-secret", "https://payment.internal", "payment-service"),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
);
const bodies = fc.oneof(
  fc.array(fc.tuple(names, values), { maxLength: 8 }).map((pairs) => pairs.map(([n, v]) => `${n}=${formEncode(v)}`).join("&")),
  fc.string({ unit: "binary", maxLength: 300 }),
  fc.stringMatching(/^[a-z_=&%+0-9A-F]{0,200}$/),
);
const contentTypes = fc.oneof(
  fc.constant("application/x-www-form-urlencoded"),
  fc.constantFrom("application/x-www-form-urlencoded; charset=utf-8", "application/json", "text/plain", "application/x-www-form-urlencoded; charset=latin1", ""),
  fc.string({ maxLength: 40 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
);
const authorizations = fc.oneof(
  fc.constant(undefined),
  fc.constant(GOOD_BASIC),
  fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 20 })).map(([id, secret]) => basic(id, secret)),
  fc.string({ maxLength: 60 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  fc.base64String({ maxLength: 40 }).map((b) => `Basic ${b}`),
);

describe("POST /token, any request", () => {
  it("never answers 5xx, refuses with an RFC 6749 §5.2 error, and stores nothing for a request without a client's credentials", async () => {
    await fc.assert(
      fc.asyncProperty(bodies, contentTypes, authorizations, async (body, contentType, authorization) => {
        const before = stored();
        const headers: Record<string, string> = { "content-type": contentType, ...(authorization === undefined ? {} : { authorization }) };
        const res = await post(body, headers);
        expectNoServerError(res, JSON.stringify({ body, contentType, authorization }));
        if (!mayAuthenticate(body, authorization)) {
          expect(res.status).not.toBe(200);
          expect(stored(), "a refusal stored something").toBe(before);
        }
      }),
      { numRuns: runs(1500) },
    );
  }, PROPERTY_TIMEOUT);

  it("gives the same answer to the same parameters, whatever their order and however they are escaped", async () => {
    const grants = fc.record(
      {
        grant_type: fc.constantFrom("client_credentials", "password"),
        scope: fc.constantFrom("charge:customer", "charge:read", "charge:customer charge:read", "nope"),
        resource: fc.constantFrom("https://payment.internal", "https://elsewhere.example"),
        client_id: fc.constantFrom("order-service", "reporting-service"),
        client_secret: fc.constantFrom("super-secret", "reporting-secret", "wrong"),
      },
      { requiredKeys: ["grant_type"] },
    );
    await fc.assert(
      fc.asyncProperty(grants, fc.integer(), async (grant, rotate) => {
        const pairs = Object.entries(grant);
        const shift = Math.abs(rotate) % pairs.length;
        const plain = pairs.map(([n, v]) => `${n}=${formEncode(v)}`).join("&");
        const other = [...pairs.slice(shift), ...pairs.slice(0, shift)].map(([n, v]) => `${percentEncodeAll(n)}=${percentEncodeAll(v)}`).join("&");
        const headers = { "content-type": "application/x-www-form-urlencoded" };
        const [a, b] = [await post(plain, headers), await post(other, headers)];
        expect(b.status, plain).toBe(a.status);
        expect(b.body.error, plain).toBe(a.body.error);
        if (a.status === 200) expect({ ...b.body, access_token: "" }).toEqual({ ...a.body, access_token: "" });
      }),
      { numRuns: runs(300) },
    );
  }, PROPERTY_TIMEOUT);
});
