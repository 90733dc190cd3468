import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { StoreUnavailableError, TooManyRequestsError } from "./errors.js";
import { MemoryFailureCounts } from "./failure-counts.js";
import { FailureLimiter, type FailureLimiterOptions } from "./failure-limiter.js";
import { MemoryTrustedCallers } from "./trusted-callers.js";

function limiter(options: Partial<FailureLimiterOptions> = {}) {
  const clock = { now: 1_000_000 };
  const trusted = new MemoryTrustedCallers();
  return { clock, trusted, limiter: new FailureLimiter({ clock: () => clock.now, trusted, ...options }) };
}

/** One attempt that fails, as a wrong credential does; `undefined` when it was let through, else the refusal. */
async function fail(l: FailureLimiter, clientId: string | undefined, address: string, registered = true): Promise<TooManyRequestsError | undefined> {
  try {
    (await l.begin(clientId, registered, address)).failed();
    return undefined;
  } catch (error) {
    if (error instanceof TooManyRequestsError) return error;
    throw error;
  }
}

async function succeed(l: FailureLimiter, clientId: string, address: string): Promise<void> {
  await (await l.begin(clientId, true, address)).succeeded(clientId);
}

describe("FailureLimiter", () => {
  it("lets 21 failures of one client through in a minute, refuses the next with Retry-After, then forgives", async () => {
    const { clock, limiter: l } = limiter();
    for (let i = 0; i < 21; i++) expect(await fail(l, "order-service", "10.0.0.9")).toBeUndefined();
    clock.now += 15_000;
    const refused = await fail(l, "order-service", "10.0.0.9");
    expect(refused?.status).toBe(429);
    expect(refused?.headers["Retry-After"]).toBe("45");
    expect(refused?.toJSON().error).toBe("temporarily_unavailable");
    clock.now += 45_000;
    expect(await fail(l, "order-service", "10.0.0.9")).toBeUndefined();
  });

  it("counts an attempt before its credential is checked: of 300 guesses at once, 21 are let through", async () => {
    const { limiter: l } = limiter();
    const guess = async () => {
      const attempt = await l.begin("order-service", true, "10.0.0.10");
      await sleep(5); // the check of a wrong credential
      attempt.failed();
    };
    const settled = await Promise.allSettled(Array.from({ length: 300 }, guess));
    expect(settled.filter((s) => s.status === "fulfilled")).toHaveLength(21);
    expect(settled.filter((s) => s.status === "rejected" && s.reason instanceof TooManyRequestsError)).toHaveLength(279);
  });

  it("counts attempts still being checked, and refuses once the wait for them is over: none is let through unchecked", async () => {
    const { limiter: l } = limiter({ busyWaitMs: 30 });
    // 21 attempts whose checks never end: the 22nd waits for them, then is refused
    for (let i = 0; i < 21; i++) await l.begin("order-service", true, "10.0.0.12");
    const refused = await fail(l, "order-service", "10.0.0.12");
    expect(refused?.status).toBe(429);
    expect(refused?.headers["Retry-After"]).toBe("1");
  });

  it("never refuses a client's own burst: 64 concurrent requests with the right secret all get through, from a trusted address or a new one", async () => {
    for (const trustedFirst of [true, false]) {
      const { limiter: l } = limiter();
      if (trustedFirst) await succeed(l, "order-service", "10.0.0.13");
      const request = async () => {
        const attempt = await l.begin("order-service", true, "10.0.0.13");
        await sleep(2); // the check of the right credential
        await attempt.succeeded("order-service");
      };
      const settled = await Promise.allSettled(Array.from({ length: 64 }, request));
      expect(settled.filter((s) => s.status === "rejected"), `trusted first: ${trustedFirst}`).toEqual([]);
    }
  });

  it("stops counting an attempt that succeeds", async () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 100; i++) await succeed(l, "order-service", "10.0.0.11");
    expect(await fail(l, "order-service", "10.0.0.11")).toBeUndefined();
  });

  it("refuses an address after 101 failures, whatever client ids they named, to callers not trusted there", async () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 101; i++) await fail(l, `made-up-${i}`, "10.0.0.66", false);
    expect((await fail(l, undefined, "10.0.0.66"))?.status).toBe(429);
    expect((await fail(l, "reporting-service", "10.0.0.66"))?.status).toBe(429);
    expect(await fail(l, undefined, "10.0.0.67")).toBeUndefined();
  });

  it("counts unknown client ids like registered ones: the answers never tell them apart", async () => {
    const { limiter: l } = limiter();
    for (let i = 0; i < 21; i++) {
      await fail(l, "order-service", `10.1.0.${i}`, true);
      await fail(l, "no-such-client", `10.2.0.${i}`, false);
    }
    expect((await fail(l, "order-service", "10.1.1.1", true))?.status).toBe(429);
    expect((await fail(l, "no-such-client", "10.2.1.1", false))?.status).toBe(429);
  });

  it("never refuses a client at an address it has succeeded from for failures made elsewhere or under other ids", async () => {
    const { limiter: l } = limiter();
    await succeed(l, "order-service", "10.0.0.1");
    for (let i = 0; i < 50; i++) await fail(l, "order-service", `192.0.2.${i}`);
    for (let i = 0; i < 200; i++) await fail(l, `made-up-${i}`, "10.0.0.1", false);
    expect((await fail(l, "order-service", "192.0.2.200"))?.status).toBe(429);
    expect((await fail(l, "made-up-x", "10.0.0.1", false))?.status).toBe(429);
    const attempt = await l.begin("order-service", true, "10.0.0.1");
    await attempt.succeeded("order-service");
  });

  it("still limits guesses from a trusted address: more than 20 failures there lock that pair alone", async () => {
    const { limiter: l } = limiter();
    await succeed(l, "order-service", "10.0.0.2");
    for (let i = 0; i < 21; i++) expect(await fail(l, "order-service", "10.0.0.2")).toBeUndefined();
    expect((await fail(l, "order-service", "10.0.0.2"))?.status).toBe(429);
    expect(await fail(l, "order-service", "10.0.0.3")).toBeUndefined();
  });

  it("trust survives a restart of the limiter when its store does", async () => {
    const { trusted, clock, limiter: first } = limiter();
    await succeed(first, "order-service", "10.0.0.4");
    const second = new FailureLimiter({ clock: () => clock.now, trusted });
    for (let i = 0; i < 30; i++) await fail(second, "order-service", "192.0.2.1");
    expect(await fail(second, "order-service", "10.0.0.4")).toBeUndefined();
  });

  it("no other client's successes evict a client's trust, from however many addresses", async () => {
    const { limiter: l } = limiter();
    await succeed(l, "order-service", "10.0.0.5");
    for (let i = 0; i < 20_000; i++) await succeed(l, "reporting-service", `addr-${i}`);
    for (let i = 0; i < 30; i++) await fail(l, "order-service", "192.0.2.2");
    expect(await fail(l, "order-service", "10.0.0.5")).toBeUndefined();
  });

  it("keeps bounded memory under a flood of distinct addresses and made-up ids, without resetting a real client's count", async () => {
    const counts = new MemoryFailureCounts(100);
    const { limiter: l } = limiter({ counts });
    for (let i = 0; i < 21; i++) await fail(l, "order-service", "192.0.2.3");
    for (let i = 0; i < 10_000; i++) await fail(l, `made-up-${i}`, `addr-${i}`, false);
    const { tables } = counts as unknown as { tables: Map<string, Map<string, unknown>> };
    expect(tables.get("address")!.size).toBeLessThanOrEqual(100);
    expect(tables.get("unknown-client")!.size).toBeLessThanOrEqual(100);
    expect((await fail(l, "order-service", "192.0.2.4"))?.status).toBe(429);
  });
});

describe("FailureLimiter, when its stores fail", () => {
  it("refuses with 503 and Retry-After when the counts cannot answer, and never lets the attempt through", async () => {
    const counts = { reserve: () => Promise.reject(new StoreUnavailableError("failure counts")) };
    const { limiter: l } = limiter({ counts });
    const refusal = await l.begin("order-service", true, "10.0.0.20").then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(StoreUnavailableError);
    expect((refusal as StoreUnavailableError).status).toBe(503);
    expect((refusal as StoreUnavailableError).headers["Retry-After"]).toBe("3");
  });
});

describe("MemoryTrustedCallers", () => {
  it("holds a bounded number of addresses per client, evicting only that client's oldest", async () => {
    const trusted = new MemoryTrustedCallers(3);
    await trusted.trust("a", "1", 10_000);
    for (let i = 0; i < 1000; i++) await trusted.trust("b", `${i}`, 10_000);
    for (const address of ["2", "3", "4"]) await trusted.trust("a", address, 10_000);
    expect(await trusted.trustedUntil("a", "1", 0)).toBeUndefined();
    expect(await trusted.trustedUntil("a", "4", 0)).toBe(10_000);
    expect(await trusted.trustedUntil("a", "4", 10_000)).toBeUndefined();
  });
});
