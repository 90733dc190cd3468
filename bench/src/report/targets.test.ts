import { describe, expect, it } from "vitest";
import type { LoadResult } from "../load/job.js";
import { parseArgs } from "../options.js";
import { cpuRatio, pairedRatio, type Measurement } from "../rounds.js";
import { JWT_BEARER, PROTECTED, UNPROTECTED } from "../scenarios/charge.js";
import { summarize } from "../stats.js";
import { FLOOR, TRANSPORT } from "../scenarios/token.js";
import { renderMarkdown } from "./markdown.js";
import { checkTargets, type BenchResults } from "./targets.js";

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

describe("the targets of issue 6", () => {
  const charge = (protectedRps: number, bareRps: number, jwtRps: number): BenchResults => ({
    charge: {
      measurements: [
        measurement(PROTECTED, [protectedRps], [1e6 / protectedRps]),
        measurement(UNPROTECTED, [bareRps], [1e6 / bareRps]),
        measurement(JWT_BEARER, [jwtRps], [1e6 / jwtRps]),
      ],
    },
    servers: [],
    errors: [],
  });

  it("passes the protected /charge at 0.9x of the bare router and fails it below", () => {
    expect(checkTargets(charge(900, 1000, 500))[0]).toMatchObject({ verdict: "PASS", byCpu: { verdict: "PASS" } });
    expect(checkTargets(charge(899, 1000, 500))[0]).toMatchObject({ verdict: "FAIL", byCpu: { verdict: "FAIL" } });
  });

  it("shows the bare router's lead over express-oauth2-jwt-bearer as the ceiling of the 1.5x target", () => {
    const [, vsJwt, ceiling] = checkTargets(charge(1100, 1200, 1000));
    expect(vsJwt).toMatchObject({ verdict: "FAIL", measured: "1.10×" });
    expect(ceiling).toMatchObject({ verdict: "n/a", measured: "1.20×" });
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
  it("states what 3x oidc-provider leaves per ES256/EdDSA token, next to what node:http alone costs", () => {
    const token = (name: string, cpu: number) => measurement(name, [1e6 / cpu], [cpu]);
    const results: BenchResults = {
      token: {
        measurements: [
          token("ours ES256", 150),
          token("oidc-provider ES256", 360),
          token("ours EdDSA", 140),
          token("oidc-provider EdDSA", 330),
          token(`${FLOOR} EdDSA`, 120),
          token(`${TRANSPORT} EdDSA`, 30),
        ],
        joseRs256Sign: [],
      },
      crypto: [{ alg: "EdDSA", joseSign: 16000, joseVerify: 9000, nodeSign: 32000, nodeVerify: 13000, issuerSign: 40000 }],
      servers: [],
      errors: [],
    };
    const machine = { cpu: "x", cores: 2, memory: "1 GiB", os: "Linux", node: "v20", loadAverage: "0", pinning: "none", date: "today" };
    const md = renderMarkdown(results, machine, parseArgs([], "RESULTS.md"), []);
    expect(md).toContain("| transport: node:http alone, a token response built once, no work per request (bench-only) | EdDSA |");
    expect(md).toContain(
      "Budget: 3× oidc-provider leaves a token at most ES256 120 µs (ours: 150 µs), EdDSA 110 µs (ours: 140 µs) of CPU. " +
        "node:http alone, reading the same request and writing a token-sized answer, took 30 µs of it, " +
        "and token-issuer's signer a whole EdDSA token (libsodium) 25 µs in a tight loop (scenario 5); the floor server spent 120 µs per EdDSA token.",
    );
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
});
