import { describe, expect, it } from "vitest";
import { InvalidScopeError, InvalidTargetError } from "./errors.js";
import { decideGrant } from "./policy.js";
import { developmentRegistry } from "./development-registry.js";
import { ClientRegistry } from "./registry.js";
import { parseRegistry } from "./registry-file.js";

const dev = developmentRegistry();
const orderService = dev.client("order-service")!;

// Two resource servers, and a client allowed on both.
const HASH = "$hmac-sha256$b3JkZXItc2VydmljZS1kZQ$H5XPhk0ruPHhNViCK2-5_D3_jz7m17pQLtV5hz5AUdk";
const wide = new ClientRegistry(
  parseRegistry(
    {
      resource_servers: [
        { id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer"] },
        { id: "ledger", resources: ["https://ledger.internal"], scopes: ["ledger:read"] },
      ],
      clients: [{ client_id: "ops", client_secret_hash: HASH, scopes: ["charge:customer", "ledger:read"], audiences: ["payment-service", "ledger"] }],
    },
    "test",
  ),
);
const ops = wide.client("ops")!;

describe("decideGrant: step 2 after authentication", () => {
  it("grants requested scopes and infers the one resource server owning them", () => {
    const decision = decideGrant(orderService, dev, { scope: "charge:customer" });
    expect(decision.audience.id).toBe("payment-service");
    expect(decision.scope).toBe("charge:customer");
    expect(decision.checks).toEqual(["scope allowed: charge:customer", "audience allowed: payment-service"]);
  });

  it("grants the client's full set for the target when scope is absent", () => {
    expect(decideGrant(orderService, dev, {}).scope).toBe("charge:customer");
    expect(decideGrant(ops, wide, { resource: "https://ledger.internal" }).scope).toBe("ledger:read");
  });

  it("names the target by resource indicator or audience, always as the server's id", () => {
    expect(decideGrant(orderService, dev, { resource: "https://payment.internal" }).audience.id).toBe("payment-service");
    expect(decideGrant(orderService, dev, { audience: "payment-service" }).audience.id).toBe("payment-service");
  });

  it("invalid_scope for a scope the client may not have, or that does not exist", () => {
    expect(() => decideGrant(orderService, dev, { scope: "charge:read" })).toThrow(InvalidScopeError);
    expect(() => decideGrant(orderService, dev, { scope: "charge:everything" })).toThrow(InvalidScopeError);
    expect(() => decideGrant(orderService, dev, { scope: "charge:customer  charge:read" })).toThrow(InvalidScopeError);
  });

  it("invalid_target for unknown, malformed, both-given or disallowed targets", () => {
    for (const request of [
      { resource: "https://unknown.internal" },
      { resource: "not a uri" },
      { resource: "https://payment.internal#frag" },
      { audience: "billing-service" },
      { resource: "https://payment.internal", audience: "payment-service" },
    ]) {
      expect(() => decideGrant(orderService, dev, { scope: "charge:customer", ...request }), JSON.stringify(request)).toThrow(
        InvalidTargetError,
      );
    }
  });

  it("invalid_target for scopes of several resource servers, or no scope and several targets", () => {
    expect(() => decideGrant(ops, wide, { scope: "charge:customer ledger:read" })).toThrow(/several resource servers/);
    expect(() => decideGrant(ops, wide, {})).toThrow(InvalidTargetError);
    expect(() => decideGrant(ops, wide, { scope: "ledger:read", audience: "payment-service" })).toThrow(InvalidTargetError);
    expect(decideGrant(ops, wide, { scope: "ledger:read" }).audience.id).toBe("ledger");
  });
});
