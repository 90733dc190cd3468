import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireAccessToken, requireScope } from "./express.js";
import { BearerError, createVerifier, InsufficientScopeError, type TokenRejectedEvent, type TokenVerifier } from "./index.js";
import { FakeClock, FakeIssuer } from "./testing/fake-issuer.js";

// requireAccessToken and requireScope built inside each test and called as
// Express calls them, in a file whose setup builds no middleware: a mutant
// that breaks building one fails these tests by name (in express.test.ts it
// breaks the beforeAll, which vitest reports as no failed test).
const clock = new FakeClock();
let issuer: FakeIssuer;
let verifier: TokenVerifier;
beforeAll(async () => {
  issuer = await FakeIssuer.start();
  verifier = createVerifier({ issuer: issuer.issuer, audience: "payment-service", clock: clock.now });
});
afterAll(async () => {
  await issuer.close();
});
const mint = () => issuer.mint({ nowSec: clock.sec });

describe("the middlewares, called directly", () => {
  /** What a middleware hands to next: undefined when it lets the request through. */
  function run(handler: ReturnType<typeof requireScope>, req: Record<string, unknown>, locals: Record<string, unknown> = {}): Promise<unknown> {
    return new Promise((resolve) => handler(req as never, { locals, set: () => undefined } as never, resolve));
  }
  const request = (url: string, token: string, body?: unknown) => ({ url, originalUrl: url, method: "POST", rawHeaders: ["Authorization", `Bearer ${token}`], body });

  it("requireAccessToken: a query string only where the URL has a '?', a body token only in an object body", async () => {
    const guard = requireAccessToken(verifier, { realm: "payment-service" });
    const token = await mint();
    const locals: Record<string, unknown> = {};
    // an '&access_token' in the path is no query string; a body that is null, a string or an array holds no parameter
    expect(await run(guard, request("/charge&access_token=x", token), locals)).toBeUndefined();
    expect(locals.auth).toMatchObject({ client_id: "order-service" });
    for (const body of [null, "access_token=x", ["access_token"], 42, {}]) {
      expect(await run(guard, request("/charge", token, body)), JSON.stringify(body)).toBeUndefined();
    }
    // a query string right after the first character, and an object body, are read
    for (const [url, body] of [["/?access_token=x", undefined], ["/charge", { access_token: "x" }]] as const) {
      const error = await run(guard, request(url, token, body));
      expect((error as BearerError).description, url).toBe("the access token must be sent in the Authorization header only");
    }
  });

  it("requireScope: lets through a token with every scope, refuses one without, naming them all, and tells onRejected", async () => {
    const rejected: TokenRejectedEvent[] = [];
    const scoped = requireScope("charge:read charge:refund", { realm: "r", onRejected: (event) => rejected.push(event) });
    expect(await run(scoped, {}, { auth: { scope: "charge:refund charge:read" } })).toBeUndefined();
    const error = await run(scoped, {}, { auth: { scope: "charge:read" } });
    expect(error).toBeInstanceOf(InsufficientScopeError);
    expect((error as InsufficientScopeError).scope).toBe("charge:read charge:refund");
    expect((error as InsufficientScopeError).realm).toBe("r");
    expect(rejected).toEqual([{ error }]);
    // without a listener, the refusal is still a refusal
    expect(await run(requireScope("a", { realm: "r" }), {}, { auth: { scope: "b" } })).toBeInstanceOf(InsufficientScopeError);
  });

  it("requireScope without requireAccessToken before it says so, as a server error", async () => {
    const error = await run(requireScope("charge:read", { realm: "r" }), {});
    expect((error as Error).message).toBe("requireScope must come after requireAccessToken");
    expect(error).not.toBeInstanceOf(BearerError);
  });
});
