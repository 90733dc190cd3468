import { describe, expect, it } from "vitest";
import type { LoadResult } from "../load/job.js";
import { parseArgs } from "../options.js";
import { cpuRatio, pairedRatio, type Measurement } from "../rounds.js";
import { BARE, GUARDED, JWT_BEARER, PAYMENT_SERVICE } from "../scenarios/charge.js";
import { summarize } from "../stats.js";
import { EXPRESS_FLOOR, FLOOR, TRANSPORT } from "../scenarios/token.js";
import { renderMarkdown } from "./markdown.js";
import { checkTargets, joseShares, type BenchResults } from "./targets.js";
import { CHARGE_POSTGRES, CHARGE_SQLITE, TOKEN_EMBEDDED, TOKEN_POSTGRES, TOKEN_REDIS, TOKEN_SHARED, TOKEN_TWO } from "../scenarios/stores.js";

function measurement(name: string, rps: number[], cpu: number[]): Measurement {
  const rounds = rps.map((r) => ({ rps: r, total: r * 3 }) as LoadResult);
  return { name, rounds, cpuPerRequest: cpu, rps: summarize(rps), p50: 1, p99: 2, failures: 0, failureDetail: [] };
}

describe("the numbers RESULTS.md judges by", () => {
  it("takes the median with its spread", () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5 });
    expect(summarize([4, 1, 3, 2]).median).toBe(2.5);
  });

  it("pairs rounds, so a busy round slows both sides of a ratio alike", () => {
    const a = measurement("a", [100, 50, 200], [10, 10, 10]);
    const b = measurement("b", [200, 100, 400], [20, 20, 20]);
    expect(pairedRatio(a, b)).toBe(0.5);
    // half the CPU per request is twice as cheap
    expect(cpuRatio(a, b)).toBe(2);
  });
});

describe("the targets of the issue \"one path through each app\"", () => {
  const charge = (guardedRps: number, bareRps: number, jwtRps: number): BenchResults => ({
    charge: {
      measurements: [
        measurement(GUARDED, [guardedRps], [1e6 / guardedRps]),
        measurement(BARE, [bareRps], [1e6 / bareRps]),
        measurement(JWT_BEARER, [jwtRps], [1e6 / jwtRps]),
        measurement(PAYMENT_SERVICE, [guardedRps / 2], [2e6 / guardedRps]),
      ],
    },
    servers: [],
    errors: [],
  });

  it("passes /charge with the guard at 0.9x the same handler without auth, fails it below, and prints the guard's cost", () => {
    expect(checkTargets(charge(900, 1000, 500))[0]).toMatchObject({ verdict: "PASS", byCpu: { verdict: "PASS", measured: "0.90× (the guard: +111 µs (+11 %))" } });
    expect(checkTargets(charge(899, 1000, 500))[0]).toMatchObject({ verdict: "FAIL", byCpu: { verdict: "FAIL" } });
  });

  it("shows express-oauth2-jwt-bearer, each guard's cost and the real app as information, never judged", () => {
    const [, vsJwt, guards, app] = checkTargets(charge(1000, 1250, 500));
    expect(vsJwt).toMatchObject({ verdict: "n/a", measured: "2.00×" });
    expect(guards).toMatchObject({ verdict: "n/a", byCpu: { measured: "ours +200 µs (+25 %), express-oauth2-jwt-bearer +1200 µs (+150 %)" } });
    expect(app).toMatchObject({ verdict: "n/a", measured: "0.50×", byCpu: { measured: "2000 µs vs 1000 µs per request (+1000 µs (+100 %))" } });
  });

  const token = (ours: Record<string, number>, oidc: Record<string, number>, crypto = true): BenchResults => ({
    token: {
      measurements: Object.entries(ours).flatMap(([alg, cpu]) => [
        measurement(`ours ${alg}`, [1e6 / cpu], [cpu]),
        measurement(`oidc-provider ${alg}`, [1e6 / oidc[alg]!], [oidc[alg]!]),
      ]),
    },
    ...(crypto
      ? {
          crypto: [
            // jose 250 µs vs node:crypto 200 µs per RS256 token; 25 vs 20 µs per ES256 and EdDSA token
            { alg: "RS256", joseSign: 4000, joseVerify: 0, nodeSign: 0, nodeVerify: 0, nodeToken: 5000 },
            { alg: "ES256", joseSign: 40_000, joseVerify: 0, nodeSign: 0, nodeVerify: 0, nodeToken: 50_000 },
            { alg: "EdDSA", joseSign: 40_000, joseVerify: 0, nodeSign: 0, nodeVerify: 0, nodeToken: 50_000 },
          ],
        }
      : {}),
    servers: [],
    errors: [],
  });
  const byName = (r: BenchResults, start: string) => checkTargets(r).find((c) => c.target.startsWith(start));

  it("judges /token RS256 at 1.0x oidc-provider and says how much of a token is not the signature", () => {
    const r = token({ RS256: 600, ES256: 100, EdDSA: 100 }, { RS256: 600, ES256: 150, EdDSA: 149 });
    expect(byName(r, "`POST /token` RS256")).toMatchObject({
      verdict: "PASS",
      byCpu: { verdict: "PASS", measured: "1.00×; ours 600 µs per token, 350 µs beyond jose's RS256 signature (250 µs, scenario 5)" },
    });
    expect(byName(token({ RS256: 601, ES256: 100, EdDSA: 100 }, { RS256: 600, ES256: 150, EdDSA: 150 }), "`POST /token` RS256")?.verdict).toBe("FAIL");
  });

  it("judges ES256 and EdDSA each at 1.5x oidc-provider", () => {
    const r = token({ RS256: 600, ES256: 100, EdDSA: 100 }, { RS256: 600, ES256: 150, EdDSA: 149 });
    expect(byName(r, "`POST /token` ES256")).toMatchObject({ verdict: "PASS", measured: "1.50×" });
    expect(byName(r, "`POST /token` EdDSA")).toMatchObject({ verdict: "FAIL", measured: "1.49×" });
  });

  it("weighs jose's extra cost per token against our CPU per /token request, per algorithm, against the 10 % line", () => {
    const r = token({ RS256: 600, ES256: 100, EdDSA: 40 }, { RS256: 600, ES256: 150, EdDSA: 150 });
    expect(joseShares(r).map((s) => [s.alg, Math.round(s.extraUs), Math.round(s.share * 1000) / 10])).toEqual([
      ["RS256", 50, 8.3],
      ["ES256", 5, 5],
      ["EdDSA", 5, 12.5],
    ]);
    expect(byName(r, "jose's cost")).toMatchObject({
      verdict: "FAIL",
      measured: "RS256 8.3 % (+50 µs of 600 µs), ES256 5.0 % (+5 µs of 100 µs), EdDSA 12.5 % (+5 µs of 40 µs)",
    });
    expect(byName(token({ RS256: 600, ES256: 100, EdDSA: 100 }, { RS256: 1, ES256: 1, EdDSA: 1 }), "jose's cost")?.verdict).toBe("PASS");
    expect(byName(token({ RS256: 600 }, { RS256: 1 }, false), "jose's cost")?.verdict).toBe("not run");
  });

  it("says 'not run' for what was not measured, never PASS", () => {
    const checks = checkTargets({ servers: [], errors: [] });
    expect(checks.every((c) => c.verdict === "not run")).toBe(true);
  });

  it("counts at most one token request per lifetime per (client, audience, scope)", () => {
    const e2e = (tokenRequests: number, issued: number) =>
      checkTargets({
        e2e: {
          measurement: measurement("e2e", [100], [1000]),
          tokensIssued: { "order-service payment-service charge:customer": issued },
          tokenRequests,
          orders: 5000,
          elapsedSeconds: 40,
          tokenTtl: 300,
          paid: 3000,
          pending: 0,
          failed: 0,
          answered: 3000,
        },
        servers: [],
        errors: [],
      }).find((c) => c.target.startsWith("end to end"));
    expect(e2e(1, 1)?.verdict).toBe("PASS");
    expect(e2e(2, 2)?.verdict).toBe("FAIL");
  });
});

describe("the token table", () => {
  it("states what 1.5x oidc-provider leaves per ES256/EdDSA token, next to what node:http alone and jose's signature cost", () => {
    const token = (name: string, cpu: number) => measurement(name, [1e6 / cpu], [cpu]);
    const results: BenchResults = {
      token: {
        measurements: [
          token("ours ES256", 150),
          token("oidc-provider ES256", 360),
          token("ours EdDSA", 140),
          token("oidc-provider EdDSA", 330),
          token(`${FLOOR} EdDSA`, 120),
          token(`${EXPRESS_FLOOR} EdDSA`, 250),
          token(`${TRANSPORT} EdDSA`, 30),
        ],
      },
      crypto: [{ alg: "EdDSA", joseSign: 25000, joseVerify: 9000, nodeSign: 32000, nodeVerify: 13000, nodeToken: 40000 }],
      servers: [],
      errors: [],
    };
    const machine = { cpu: "x", cores: 2, memory: "1 GiB", os: "Linux", node: "v20", loadAverage: "0", pinning: "none", date: "today" };
    const md = renderMarkdown(results, machine, parseArgs([], "RESULTS.md"), []);
    expect(md).toContain("| transport: node:http alone, a token response built once, no work per request (bench-only) | EdDSA |");
    expect(md).toContain(
      "Budget: 1.5× oidc-provider leaves a token at most ES256 240 µs (ours: 150 µs), EdDSA 220 µs (ours: 140 µs) of CPU. " +
        "node:http alone, reading the same request and writing a token-sized answer, took 30 µs of it; " +
        "jose's SignJWT a whole EdDSA token 40 µs (scenario 5); the floor server spent 120 µs per EdDSA token, the same floor as one Express route 250 µs.",
    );
    expect(md).toContain("| EdDSA | 40 µs | 25 µs | 15 µs | 140 µs | 10.7 % | no |");
  });
});

describe("the command line", () => {
  it("takes rounds of an even number of seconds: two halves of whole seconds", () => {
    expect(parseArgs(["--seconds=6"], "x").roundSeconds).toBe(6);
    expect(() => parseArgs(["--seconds=3"], "x")).toThrow(/even number/);
  });

  it("has a quick smoke mode that never judges targets, even with --strict", () => {
    const quick = parseArgs(["--quick", "--strict"], "RESULTS.md");
    expect(quick).toMatchObject({ quick: true, strict: false, rounds: 1 });
  });

  it("refuses an unknown scenario or argument with a message", () => {
    expect(() => parseArgs(["--only=nope"], "x")).toThrow(/unknown scenario nope/);
    expect(() => parseArgs(["--fast"], "x")).toThrow(/unknown argument --fast/);
  });

  it("judges the shared stores at 0.8x the embedded ones, one instance each, with what each store adds, and reports two instances against one without judging it", () => {
    const stores = (shared: number, pgLedger: number): BenchResults => ({
      stores: {
        measurements: [
          measurement(TOKEN_EMBEDDED, [1000], [1000]),
          measurement(TOKEN_SHARED, [shared], [1e6 / shared]),
          measurement(TOKEN_POSTGRES, [950], [1e6 / 950]),
          measurement(TOKEN_REDIS, [900], [1e6 / 900]),
          measurement(TOKEN_TWO, [shared * 0.9], [1e6 / (shared * 0.9)]),
          measurement(CHARGE_SQLITE, [2000], [500]),
          measurement(CHARGE_POSTGRES, [pgLedger], [1e6 / pgLedger]),
        ],
      },
      servers: [],
      errors: [],
    });
    const byName = (r: BenchResults, text: string) => checkTargets(r).find((c) => c.target.includes(text))!;
    expect(byName(stores(800, 1600), "`POST /token` on PostgreSQL + Redis")).toMatchObject({
      verdict: "PASS",
      byCpu: { verdict: "PASS", measured: "0.80× (the shared stores +250 µs (+25 %): PostgreSQL alone +53 µs (+5 %), Redis alone +111 µs (+11 %))" },
    });
    expect(byName(stores(799, 1600), "`POST /token` on PostgreSQL + Redis").verdict).toBe("FAIL");
    expect(byName(stores(800, 1600), "`POST /charge` on PostgreSQL")).toMatchObject({ verdict: "PASS", measured: "0.80×" });
    expect(byName(stores(800, 1599), "`POST /charge` on PostgreSQL").verdict).toBe("FAIL");
    expect(byName(stores(800, 1600), "two auth-server instances vs one")).toMatchObject({ verdict: "n/a", measured: "0.90×" });
  });
});
