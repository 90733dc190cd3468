// Property-based tests (fast-check) of POST /charge over HTTP, the service
// in-process on 127.0.0.1 with a real SQLite ledger: any Authorization
// header, any JSON body. Properties: never a 5xx; a request refused for its
// token or its body charges nothing (the ledger does not grow); and a charge
// sent again with the same Idempotency-Key, its JSON written another way
// (members in another order, other whitespace), gets the same answer, the
// same charge. A failure prints fast-check's seed.
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_FILE } from "../src/server.js";
import { AuthStub, startService, type TestService } from "./support.js";

// PROPERTY_RUNS_SCALE shrinks every run count
const SCALE = Number(process.env.PROPERTY_RUNS_SCALE ?? 1);
const runs = (n: number) => Math.max(20, Math.round(n * SCALE));
// thousands of runs on a loaded 2-core machine take longer than a unit test
const PROPERTY_TIMEOUT = 120_000;

let auth: AuthStub;
let service: TestService;
let token: string;
let ledger: Database.Database;
beforeAll(async () => {
  auth = await AuthStub.start();
  service = await startService(auth);
  token = await auth.token();
  ledger = new Database(join(service.dataDir, LEDGER_FILE), { readonly: true, fileMustExist: true });
});
afterAll(async () => {
  ledger?.close();
  await service?.running.close();
  await auth?.close();
});

const charges = () => (ledger.prepare("SELECT COUNT(*) AS n FROM charges").get() as { n: number }).n;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}
/** POST /charge through node:http, which sends header values fetch would refuse, and several Authorization fields. */
function postCharge(body: string, headers: Array<[string, string]>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const raw = [["host", new URL(service.url).host], ["content-type", "application/json"], ["content-length", String(Buffer.byteLength(body))], ...headers];
    const req = request(`${service.url}/charge`, { method: "POST", headers: raw.flat(), agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const headerValue = fc.string({ unit: "binary-ascii", maxLength: 120 }).filter((value) => /^[\t\x20-\x7e]*$/.test(value) && value.trim() === value);
const authorization = fc.oneof(
  headerValue,
  headerValue.map((value) => `Bearer ${value}`),
  fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,200}=*$/).map((value) => `Bearer ${value}`),
  fc.constantFrom("Bearer", "bearer  ", "Basic b3JkZXI6c2VjcmV0", "Bearer a.b.c", "Bearer eyJhbGciOiJub25lIn0.e30."),
);

const validCharge = () => ({ orderId: `ord_${randomUUID()}`, customerId: "cus_1", amount: 1299, currency: "EUR" });
const bodies = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc
    .record(
      {
        orderId: fc.oneof(fc.string({ maxLength: 140 }), fc.jsonValue()),
        customerId: fc.oneof(fc.constant("cus_1"), fc.string({ maxLength: 140 }), fc.jsonValue()),
        amount: fc.oneof(fc.integer(), fc.double(), fc.constant(1299), fc.jsonValue()),
        currency: fc.oneof(fc.constantFrom("EUR", "eur", "XXX", "ABC", "USD"), fc.string({ maxLength: 4 }), fc.jsonValue()),
        extra: fc.jsonValue(),
      },
      { requiredKeys: [] },
    )
    .map((value) => JSON.stringify(value)),
  fc.string({ maxLength: 200 }),
);

describe("POST /charge, any request", () => {
  it("answers any Authorization header without a 5xx, and charges nothing without a valid token", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(authorization, { minLength: 0, maxLength: 2 }), async (fields) => {
        const before = charges();
        const res = await postCharge(JSON.stringify(validCharge()), [["idempotency-key", randomUUID()], ...fields.map((value): [string, string] => ["authorization", value])]);
        expect(res.status, `${JSON.stringify(fields)}: ${res.status} ${JSON.stringify(res.headers)} ${res.text}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${JSON.stringify(fields)}: ${res.text}`).toBeLessThan(500);
        expect(String(res.headers["www-authenticate"]), res.text).toMatch(/^Bearer realm="payment-service"/);
        expect(charges()).toBe(before);
      }),
      { numRuns: runs(1000) },
    );
  }, PROPERTY_TIMEOUT);

  it("answers any body without a 5xx, and charges nothing for a body it refuses", async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const before = charges();
        const res = await postCharge(body, [
          ["authorization", `Bearer ${token}`],
          ["idempotency-key", randomUUID()],
        ]);
        expect(res.status, `${body}: ${res.text}`).toBeLessThan(500);
        // 201 charged, 402 declined by the processor (recorded as such): anything else is a refusal of the request
        if (res.status !== 201 && res.status !== 402) expect(charges(), body).toBe(before);
      }),
      { numRuns: runs(1000) },
    );
  }, PROPERTY_TIMEOUT);

  it("gives the same answer, the same charge, to the same charge written another way under the same Idempotency-Key", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom("EUR", "USD", "JPY"), fc.integer(), fc.constantFrom("", " ", "\n", "\t  "), async (amount, currency, rotate, space) => {
        const charge = { ...validCharge(), amount, currency };
        const key = randomUUID();
        const entries = Object.entries(charge);
        const shift = Math.abs(rotate) % entries.length;
        const respelled = `{${space}${[...entries.slice(shift), ...entries.slice(0, shift)].map(([k, v]) => `${JSON.stringify(k)}${space}:${space}${JSON.stringify(v)}`).join(`,${space}`)}${space}}`;
        const headers: Array<[string, string]> = [
          ["authorization", `Bearer ${token}`],
          ["idempotency-key", key],
        ];
        const first = await postCharge(JSON.stringify(charge), headers);
        const before = charges();
        const again = await postCharge(respelled, headers);
        expect(again.status, respelled).toBe(first.status);
        expect(JSON.parse(again.text)).toEqual(JSON.parse(first.text));
        expect(charges(), "the same charge, not a second one").toBe(before);
      }),
      { numRuns: runs(300) },
    );
  }, PROPERTY_TIMEOUT);
});
