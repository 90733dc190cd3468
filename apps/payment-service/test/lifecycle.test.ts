import { randomUUID } from "node:crypto";
import { generateKeyPair } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Authorization, CardProcessor } from "../src/charges/processor.js";
import { AuthStub, eventually, newCharge, postCharge, send, startService, type TestService } from "./support.js";

let auth: AuthStub;
const started: TestService[] = [];

beforeAll(async () => {
  auth = await AuthStub.start();
});
afterEach(async () => {
  auth.failing = false;
  for (const service of started.splice(0)) await service.running.close();
});
afterAll(async () => {
  await auth?.close();
});

async function start(options: Parameters<typeof startService>[1] = {}): Promise<TestService> {
  const service = await startService(auth, options);
  started.push(service);
  return service;
}

describe("idempotency across a restart", () => {
  it("answers a retried key with the charge made before the restart, never a second one", async () => {
    const first = await start();
    const token = await auth.token();
    const key = randomUUID();
    const body = newCharge();
    const charged = await postCharge(first, body, { token, key });
    expect(charged.status).toBe(201);
    await first.running.close();
    started.splice(started.indexOf(first), 1);

    const second = await start({ dataDir: first.dataDir });
    const replayed = await postCharge(second, body, { token, key });
    expect(replayed.status).toBe(201);
    expect(replayed.body.id).toBe(charged.body.id);
    const reused = await postCharge(second, { ...body, amount: 5 }, { token, key });
    expect(reused.status).toBe(422);
    expect(second.events("charge.created")).toEqual([]);
  });
});

describe("409 while the first request with a key is still being processed", () => {
  it("answers idempotency_key_in_use to a retry, 422 to another body, then the charge once done", async () => {
    let release: (decision: Authorization) => void = () => {};
    let calls = 0;
    const slow: CardProcessor = {
      authorize: () => {
        calls += 1;
        return new Promise((resolve) => (release = resolve));
      },
    };
    const service = await start({ processor: slow });
    const token = await auth.token();
    const key = randomUUID();
    const body = newCharge();

    const pending = postCharge(service, body, { token, key });
    await eventually(() => calls === 1);
    const retry = await postCharge(service, body, { token, key });
    expect(retry.status).toBe(409);
    expect(retry.body).toMatchObject({ error: "idempotency_key_in_use" });
    const other = await postCharge(service, { ...body, amount: 1 }, { token, key });
    expect(other.status).toBe(422);

    release({ approved: true });
    const first = await pending;
    expect(first.status).toBe(201);
    const after = await postCharge(service, body, { token, key });
    expect(after.body.id).toBe(first.body.id);
    expect(calls).toBe(1);
  });

  it("frees the key if the processor fails, so a retry can charge", async () => {
    let fail = true;
    const flaky: CardProcessor = {
      authorize: async () => {
        if (fail) throw new Error("processor down");
        return { approved: true };
      },
    };
    const service = await start({ processor: flaky });
    const token = await auth.token();
    const key = randomUUID();
    const body = newCharge();
    const broken = await postCharge(service, body, { token, key });
    expect(broken.status).toBe(500);
    expect(broken.body).toEqual({ error: "server_error", error_description: "internal error" });
    fail = false;
    expect((await postCharge(service, body, { token, key })).status).toBe(201);
  });
});

describe("readiness and the auth server", () => {
  it("starts while the auth server is down, is not ready, answers 503, and becomes ready once it is back", async () => {
    auth.failing = true;
    const service = await start();
    expect((await send(`${service.url}/healthz`)).status).toBe(200);
    expect((await send(`${service.url}/readyz`)).status).toBe(503);
    const token = await auth.token();
    const refused = await postCharge(service, newCharge(), { token });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: "temporarily_unavailable" });
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(service.events("jwks.failed").length).toBeGreaterThan(0);

    auth.failing = false;
    await eventually(async () => (await send(`${service.url}/readyz`)).status === 200, 10_000);
    expect(service.events("jwks.loaded")).toContainEqual(expect.objectContaining({ kids: [auth.kid] }));
  });

  it("keeps charging with the keys it holds through an auth server outage, and answers 503 for a key it cannot fetch", async () => {
    const service = await start();
    await eventually(async () => (await send(`${service.url}/readyz`)).status === 200);
    auth.failing = true;
    const token = await auth.token();
    expect((await postCharge(service, newCharge(), { token })).status).toBe(201);

    const { privateKey } = await generateKeyPair("RS256");
    const rotated = await auth.token({}, { kid: "a-key-not-seen-yet" }, privateKey);
    const res = await postCharge(service, newCharge(), { token: rotated });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(res.body).toEqual({ error: "temporarily_unavailable" });
    expect((await send(`${service.url}/readyz`)).status).toBe(200);
  });

  it("stops being ready at shutdown and closes its server", async () => {
    const service = await start();
    await eventually(async () => (await send(`${service.url}/readyz`)).status === 200);
    service.running.stopAccepting();
    expect((await send(`${service.url}/readyz`)).status).toBe(503);
    await service.running.close();
    started.splice(started.indexOf(service), 1);
    await expect(fetch(`${service.url}/healthz`)).rejects.toThrow();
  });
});

describe("hardening #7: keys the auth server no longer vouches for", () => {
  const readyz = async (service: TestService) => (await send(`${service.url}/readyz`)).status;

  it("hardening #7: stops trusting a withdrawn key within JWKS_MAX_AGE, though no unknown kid arrives, and charges nothing with it", async () => {
    const service = await start({ env: { JWKS_MAX_AGE: "1" } });
    await eventually(async () => (await readyz(service)) === 200);
    const signedBefore = await auth.token();
    expect((await postCharge(service, newCharge(), { token: signedBefore })).status).toBe(201);

    const withdrawn = auth.kid;
    await auth.withdrawKey();
    await eventually(() => service.events("jwks.loaded").some((line) => !(line.kids as string[]).includes(withdrawn)));
    const charged = service.events("charge.created").length;
    const refused = await postCharge(service, newCharge(), { token: signedBefore });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe("invalid_token");
    expect(service.events("charge.created")).toHaveLength(charged);
    expect((await postCharge(service, newCharge(), { token: await auth.token() })).status).toBe(201);
  }, 15_000);

  it("hardening #7: after JWKS_MAX_STALE without a refresh that worked, answers 503 and is not ready; charges again once the auth server is back, without a restart", async () => {
    const service = await start({ env: { JWKS_MAX_AGE: "1", JWKS_MAX_STALE: "2" } });
    await eventually(async () => (await readyz(service)) === 200);
    const token = await auth.token();
    expect((await postCharge(service, newCharge(), { token })).status).toBe(201);

    auth.failing = true;
    await eventually(async () => (await readyz(service)) === 503);
    const charged = service.events("charge.created").length;
    const refused = await postCharge(service, newCharge(), { token });
    expect(refused.status).toBe(503);
    expect(refused.body).toEqual({ error: "temporarily_unavailable" });
    expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(service.events("charge.created")).toHaveLength(charged);

    auth.failing = false;
    await eventually(async () => (await readyz(service)) === 200, 10_000);
    expect((await postCharge(service, newCharge(), { token })).status).toBe(201);
  }, 20_000);
});
