import { randomUUID } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LEDGER_FILE } from "../src/server.js";
import { AuthStub, newCharge, postCharge, startService, type TestService } from "./support.js";

// The idempotency keys' retention in the embedded ledger (SQLite under
// DATA_DIR), on the service's own clock, moved by the test: the same as the
// PostgreSQL ledger's in shared-ledger.test.ts.

let auth: AuthStub;
const services: TestService[] = [];

beforeAll(async () => {
  auth = await AuthStub.start();
});

afterAll(async () => {
  await Promise.all(services.map((service) => service.running.close()));
  await auth?.close();
});

describe("the idempotency keys' retention, in SQLite", () => {
  it("prunes keys past IDEMPOTENCY_KEY_RETENTION and keeps their charges: a key sent again after that is a new request", async () => {
    const clock = { now: Date.now() };
    const service = await startService(auth, { clock: () => clock.now, env: { IDEMPOTENCY_KEY_RETENTION: "3600" } });
    services.push(service);
    const tokenNow = () => auth.token({ iat: Math.floor(clock.now / 1000), exp: Math.floor(clock.now / 1000) + 300 });
    const body = newCharge();
    const key = randomUUID();
    const first = await postCharge(service, body, { token: await tokenNow(), key });
    expect(first.status).toBe(201);
    clock.now += 3_599_000;
    expect(await service.running.pruneKeys()).toBe(0);
    expect((await postCharge(service, body, { token: await tokenNow(), key })).body.id).toBe(first.body.id);
    clock.now += 2_000;
    expect(await service.running.pruneKeys()).toBe(1);
    expect(service.events("idempotency_keys.pruned")).toContainEqual(expect.objectContaining({ pruned: 1, retention_seconds: 3600 }));
    const db = new Database(join(service.dataDir, LEDGER_FILE), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) AS n FROM charges").get()).toEqual({ n: 1 });
      expect(db.prepare("SELECT count(*) AS n FROM idempotency_keys").get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
    const again = await postCharge(service, body, { token: await tokenNow(), key });
    expect(again.status).toBe(201);
    expect(again.body.id).not.toBe(first.body.id);
  });
});
