import { describe, expect, it } from "vitest";
import { TooManyRequestsError } from "./errors.js";
import { FailureLimiter } from "./failure-limiter.js";

function limiter(options: Partial<ConstructorParameters<typeof FailureLimiter>[0]> = {}) {
  const clock = { now: 1_000_000 };
  return { clock, limiter: new FailureLimiter({ clock: () => clock.now, ...options }) };
}

function refusal(action: () => void): TooManyRequestsError | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    if (error instanceof TooManyRequestsError) return error;
    throw error;
  }
}

describe("FailureLimiter", () => {
  it("allows 20 failures a minute for one client, refuses the 21st+ with Retry-After, then forgives", () => {
    const { clock, limiter: l } = limiter();
    for (let i = 0; i < 20; i++) {
      l.check("order-service", "10.0.0.9");
      l.failure("order-service", "10.0.0.9");
    }
    expect(refusal(() => l.check("order-service", "10.0.0.9"))).toBeUndefined();
    l.failure("order-service", "10.0.0.9");
    clock.now += 15_000;
    const refused = refusal(() => l.check("order-service", "10.0.0.9"));
    expect(refused?.status).toBe(429);
    expect(refused?.headers["Retry-After"]).toBe("45");
    expect(refused?.toJSON().error).toBe("temporarily_unavailable");
    clock.now += 45_000;
    expect(refusal(() => l.check("order-service", "10.0.0.9"))).toBeUndefined();
  });

  it("refuses an address after 100 failures whatever client it names", () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 101; i++) l.failure(undefined, "10.0.0.66");
    expect(refusal(() => l.check(undefined, "10.0.0.66"))?.status).toBe(429);
    expect(refusal(() => l.check("reporting-service", "10.0.0.66"))?.status).toBe(429);
    expect(refusal(() => l.check(undefined, "10.0.0.67"))).toBeUndefined();
  });

  it("does not lock a client out of an address it recently succeeded from, when the attack comes from elsewhere", () => {
    const { limiter: l } = limiter();
    l.success("order-service", "10.0.0.1");
    for (let i = 0; i < 50; i++) l.failure("order-service", `192.0.2.${i}`);
    expect(refusal(() => l.check("order-service", "192.0.2.200"))?.status).toBe(429);
    expect(refusal(() => l.check("order-service", "10.0.0.1"))).toBeUndefined();
    // Once that address fails for the client itself, it is treated like any other.
    l.failure("order-service", "10.0.0.1");
    expect(refusal(() => l.check("order-service", "10.0.0.1"))?.status).toBe(429);
  });

  it("keeps bounded memory under a flood of distinct addresses", () => {
    const { limiter: l } = limiter({ maxEntries: 100 });
    for (let i = 0; i < 10_000; i++) l.failure(undefined, `addr-${i}`);
    const tables = l as unknown as { addresses: Map<string, unknown> };
    expect(tables.addresses.size).toBeLessThanOrEqual(100);
  });
});
