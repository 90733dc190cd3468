import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthStub, eventually, newCharge, postCharge, startService, type TestService } from "./support.js";

let auth: AuthStub;
let service: TestService;
beforeAll(async () => {
  auth = await AuthStub.start();
  service = await startService(auth);
  await eventually(() => service.running.verifier.ready);
});
afterAll(async () => {
  await service.running.close();
  await auth.close();
});

describe("GET /metrics at payment-service", () => {
  it("counts verifications by result and reason, JWK Set fetches, and charges by outcome", async () => {
    const token = await auth.token();
    const charge = newCharge();
    expect((await postCharge(service, charge, { token, key: "k-1" })).status).toBe(201);
    expect((await postCharge(service, charge, { token, key: "k-1" })).headers.get("idempotent-replayed")).toBe("true");
    expect((await postCharge(service, newCharge({ amount: 100_001 }), { token })).status).toBe(402);
    expect((await postCharge(service, newCharge(), { token: await auth.readToken() })).status).toBe(403);
    expect((await postCharge(service, newCharge(), { token: null })).status).toBe(401);
    expect((await postCharge(service, newCharge(), { token: `${token}x` })).status).toBe(401);

    const text = await (await fetch(`${service.url}/metrics`)).text();
    expect(text).toContain('oauth_token_verifications_total{result="verified",cached="false"} 1');
    expect(text).toContain('oauth_token_verifications_total{result="verified",cached="true"} 2');
    expect(text).toContain('oauth_token_verifications_total{result="rejected",reason="insufficient_scope"} 1');
    expect(text).toContain('oauth_token_verifications_total{result="rejected",reason="missing_token"} 1');
    expect(text).toContain('oauth_token_verifications_total{result="rejected",reason="invalid_token"} 1');
    expect(text).toMatch(/^oauth_jwks_fetches_total\{result="loaded",reason="load"\} [1-9]/m);
    expect(text).toContain('charges_total{outcome="succeeded"} 1');
    expect(text).toContain('charges_total{outcome="replayed"} 1');
    expect(text).toContain('charges_total{outcome="declined"} 1');
    expect(text).not.toMatch(/order-service|reporting-service/);
  });
});
