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

  it("says which check refused, in words a client may read (error_description)", () => {
    const refusal = (client: typeof ops, registry: ClientRegistry, request: Parameters<typeof decideGrant>[2]) => {
      try {
        decideGrant(client, registry, request);
      } catch (error) {
        return `${(error as InvalidScopeError).code}: ${(error as InvalidScopeError).description}`;
      }
      return "granted";
    };
    expect(refusal(orderService, dev, { resource: "https://payment.internal", audience: "payment-service" })).toBe("invalid_target: give resource or audience, not both");
    expect(refusal(orderService, dev, { scope: "charge:everything" })).toBe('invalid_scope: unknown scope "charge:everything"');
    expect(refusal(orderService, dev, { scope: "charge:read" })).toBe('invalid_scope: the client may not request scope "charge:read"');
    expect(refusal(orderService, dev, { resource: "not a uri" })).toBe("invalid_target: resource must be an absolute URI without a fragment (RFC 8707 §2)");
    expect(refusal(orderService, dev, { resource: "https://payment.internal#frag" })).toBe("invalid_target: resource must be an absolute URI without a fragment (RFC 8707 §2)");
    expect(refusal(orderService, dev, { resource: "urn:x:y" })).toBe("invalid_target: unknown resource");
    expect(refusal(orderService, dev, { resource: "https://unknown.internal" })).toBe("invalid_target: unknown resource");
    expect(refusal(orderService, dev, { resource: "1https://x" })).toBe("invalid_target: resource must be an absolute URI without a fragment (RFC 8707 §2)");
    expect(refusal(orderService, dev, { resource: "https://" })).toBe("invalid_target: resource must be an absolute URI without a fragment (RFC 8707 §2)");
    expect(refusal(orderService, dev, { audience: "billing-service" })).toBe("invalid_target: unknown audience");
    expect(refusal(ops, wide, { scope: "charge:customer ledger:read" })).toBe("invalid_target: the requested scopes belong to several resource servers; ask for one at a time");
    expect(refusal(ops, wide, {})).toBe("invalid_target: several resource servers fit; name one with resource or audience");
    expect(refusal(ops, wide, { scope: "ledger:read", audience: "payment-service" })).toBe('invalid_target: scope "ledger:read" is not a scope of payment-service');
  });

  it("refuses a target the client may not address, named by resource or by audience", () => {
    const narrow = new ClientRegistry(
      parseRegistry(
        {
          resource_servers: [
            { id: "payment-service", resources: ["https://payment.internal"], scopes: ["charge:customer"] },
            { id: "ledger", resources: ["https://ledger.internal"], scopes: ["ledger:read"] },
          ],
          clients: [
            { client_id: "payer", client_secret_hash: HASH, scopes: ["charge:customer"], audiences: ["payment-service"] },
            { client_id: "no-scope-there", client_secret_hash: HASH, scopes: ["charge:customer"], audiences: ["payment-service", "ledger"] },
          ],
        },
        "test",
      ),
    );
    const payer = narrow.client("payer")!;
    expect(() => decideGrant(payer, narrow, { resource: "https://ledger.internal" })).toThrow(new InvalidTargetError("the resource is not allowed for this client"));
    expect(() => decideGrant(payer, narrow, { audience: "ledger" })).toThrow(new InvalidTargetError("the audience is not allowed for this client"));
    expect(decideGrant(payer, narrow, { audience: "payment-service" }).audience.id).toBe("payment-service");
    // allowed at ledger, but none of its scopes are the client's: nothing to grant there
    const none = narrow.client("no-scope-there")!;
    expect(() => decideGrant(none, narrow, { audience: "ledger" })).toThrow(new InvalidScopeError("the client may not have any scope of ledger"));
    // the scope alone says where: the one allowed server that owns it
    expect(decideGrant(none, narrow, { scope: "charge:customer" })).toMatchObject({ audience: { id: "payment-service" }, scope: "charge:customer" });
  });

  it("grants each requested scope once, in the order asked, and lists each check", () => {
    const decision = decideGrant(ops, wide, { scope: "ledger:read ledger:read", audience: "ledger" });
    expect(decision.scope).toBe("ledger:read");
    expect(decision.checks).toEqual(["scope allowed: ledger:read", "audience allowed: ledger"]);
    expect(decideGrant(ops, wide, { resource: "https://ledger.internal" }).checks).toEqual(["scope allowed: ledger:read", "audience allowed: ledger"]);
  });
});
