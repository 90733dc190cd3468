import { describe, expect, it } from "vitest";
import type { LoadResult } from "../load/job.js";
import { parseArgs } from "../options.js";
import { cpuRatio, pairedRatio, type Measurement } from "../rounds.js";
import {
  BARE,
  DPOP_GUARDED,
  GUARDED,
  GUARDED_METRICS,
  JWT_BEARER,
  PAYMENT_SERVICE,
  PAYMENT_SERVICE_DPOP,
  PAYMENT_SERVICE_TRACED,
} from "../scenarios/charge.js";
import type { DPoPFloodPart, FloodSample } from "../scenarios/dpop-flood.js";
import { summarize } from "../stats.js";
import {
  DPOP_NONCE_TOKEN,
  DPOP_TOKEN,
  EXPRESS_FLOOR,
  FLOOR,
  TOKEN_ALGS,
  TRACED,
  TRACED_ALG,
  TRANSPORT,
} from "../scenarios/token.js";
import type { ChildServer } from "../servers/child-server.js";
import { describeAnswers, renderMarkdown } from "./markdown.js";
import {
  checkTargets,
  dpopFloodCheck,
  fullCacheCheck,
  joseShares,
  replayCacheEstimate,
  type BenchResults,
} from "./targets.js";
import {
  CHARGE_POSTGRES,
  CHARGE_SQLITE,
  TOKEN_EMBEDDED,
  TOKEN_POSTGRES,
  TOKEN_REDIS,
  TOKEN_SHARED,
  TOKEN_TWO,
} from "../scenarios/stores.js";

/** The machine RESULTS.md names, in the tests that render it. */
const MACHINE = {
  cpu: "x",
  cores: 2,
  memory: "1 GiB",
  os: "Linux",
  node: "v20",
  loadAverage: "0",
  pinning: "none",
  date: "today",
};

function measurement(name: string, rps: number[], cpu: number[]): Measurement {
  const rounds = rps.map((r) => ({ rps: r, total: r * 3 } as LoadResult));
  return {
    name,
    rounds,
    cpuPerRequest: cpu,
    rps: summarize(rps),
    p50: 1,
    p99: 2,
    failures: 0,
    failureDetail: [],
  };
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

describe('the targets of the issue "one path through each app"', () => {
  const charge = (
    guardedRps: number,
    bareRps: number,
    jwtRps: number
  ): BenchResults => ({
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
    expect(checkTargets(charge(900, 1000, 500))[0]).toMatchObject({
      verdict: "PASS",
      byCpu: {
        verdict: "PASS",
        measured: "0.90× (the guard: +111 µs (+11 %))",
      },
    });
    expect(checkTargets(charge(899, 1000, 500))[0]).toMatchObject({
      verdict: "FAIL",
      byCpu: { verdict: "FAIL" },
    });
  });

  it("shows express-oauth2-jwt-bearer, each guard's cost and the real app as information, never judged", () => {
    const [, vsJwt, guards, app] = checkTargets(charge(1000, 1250, 500));
    expect(vsJwt).toMatchObject({ verdict: "n/a", measured: "2.00×" });
    expect(guards).toMatchObject({
      verdict: "n/a",
      byCpu: {
        measured:
          "ours +200 µs (+25 %), express-oauth2-jwt-bearer +1200 µs (+150 %)",
      },
    });
    expect(app).toMatchObject({
      verdict: "n/a",
      measured: "0.50×",
      byCpu: { measured: "2000 µs vs 1000 µs per request (+1000 µs (+100 %))" },
    });
  });

  const token = (
    ours: Record<string, number>,
    oidc: Record<string, number>,
    crypto = true
  ): BenchResults => ({
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
            {
              alg: "RS256",
              joseSign: 4000,
              joseVerify: 0,
              nodeSign: 0,
              nodeVerify: 0,
              nodeToken: 5000,
            },
            {
              alg: "ES256",
              joseSign: 40_000,
              joseVerify: 0,
              nodeSign: 0,
              nodeVerify: 0,
              nodeToken: 50_000,
            },
            {
              alg: "EdDSA",
              joseSign: 40_000,
              joseVerify: 0,
              nodeSign: 0,
              nodeVerify: 0,
              nodeToken: 50_000,
            },
          ],
        }
      : {}),
    servers: [],
    errors: [],
  });
  const byName = (r: BenchResults, start: string) =>
    checkTargets(r).find((c) => c.target.startsWith(start));

  it("judges /token RS256 at 1.0x oidc-provider and says how much of a token is not the signature", () => {
    const r = token(
      { RS256: 600, ES256: 100, EdDSA: 100 },
      { RS256: 600, ES256: 150, EdDSA: 149 }
    );
    expect(byName(r, "`POST /token` RS256")).toMatchObject({
      verdict: "PASS",
      byCpu: {
        verdict: "PASS",
        measured:
          "1.00×; ours 600 µs per token, 350 µs beyond jose's RS256 signature (250 µs, scenario 5)",
      },
    });
    expect(
      byName(
        token(
          { RS256: 601, ES256: 100, EdDSA: 100 },
          { RS256: 600, ES256: 150, EdDSA: 150 }
        ),
        "`POST /token` RS256"
      )?.verdict
    ).toBe("FAIL");
  });

  it("judges ES256 and EdDSA each at 1.5x oidc-provider", () => {
    const r = token(
      { RS256: 600, ES256: 100, EdDSA: 100 },
      { RS256: 600, ES256: 150, EdDSA: 149 }
    );
    expect(byName(r, "`POST /token` ES256")).toMatchObject({
      verdict: "PASS",
      measured: "1.50×",
    });
    expect(byName(r, "`POST /token` EdDSA")).toMatchObject({
      verdict: "FAIL",
      measured: "1.49×",
    });
  });

  it("weighs jose's extra cost per token against our CPU per /token request, per algorithm, against the 10 % line", () => {
    const r = token(
      { RS256: 600, ES256: 100, EdDSA: 40 },
      { RS256: 600, ES256: 150, EdDSA: 150 }
    );
    expect(
      joseShares(r).map((s) => [
        s.alg,
        Math.round(s.extraUs),
        Math.round(s.share * 1000) / 10,
      ])
    ).toEqual([
      ["RS256", 50, 8.3],
      ["ES256", 5, 5],
      ["EdDSA", 5, 12.5],
    ]);
    expect(byName(r, "jose's cost")).toMatchObject({
      verdict: "FAIL",
      measured:
        "RS256 8.3 % (+50 µs of 600 µs), ES256 5.0 % (+5 µs of 100 µs), EdDSA 12.5 % (+5 µs of 40 µs)",
    });
    expect(
      byName(
        token(
          { RS256: 600, ES256: 100, EdDSA: 100 },
          { RS256: 1, ES256: 1, EdDSA: 1 }
        ),
        "jose's cost"
      )?.verdict
    ).toBe("PASS");
    expect(
      byName(token({ RS256: 600 }, { RS256: 1 }, false), "jose's cost")?.verdict
    ).toBe("not run");
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
          tokensIssued: {
            "order-service payment-service charge:customer": issued,
          },
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

describe('the targets of the issue "Sender-constrained tokens: DPoP"', () => {
  const byName = (r: BenchResults, start: string) =>
    checkTargets(r).find((c) => c.target.startsWith(start));
  const charge = (bearerCpu: number, dpopCpu: number): BenchResults => ({
    charge: {
      measurements: [
        measurement(GUARDED, [1e6 / bearerCpu], [bearerCpu]),
        measurement(DPOP_GUARDED, [1e6 / dpopCpu], [dpopCpu]),
        measurement(PAYMENT_SERVICE, [1e6 / 500], [500]),
        measurement(PAYMENT_SERVICE_DPOP, [1e6 / 1000], [1000]),
      ],
    },
    servers: [],
    errors: [],
  });

  it("passes /charge with DPoP at 0.75x the same request with a Bearer token, fails it below, and prints what the proof costs", () => {
    expect(
      byName(charge(600, 800), "`POST /charge` with a DPoP-bound token")
    ).toMatchObject({
      verdict: "PASS",
      measured: "0.75×",
      byCpu: {
        verdict: "PASS",
        measured: "0.75× (the proof: +200 µs (+33 %))",
      },
    });
    expect(
      byName(charge(600, 801), "`POST /charge` with a DPoP-bound token")
    ).toMatchObject({ verdict: "FAIL", byCpu: { verdict: "FAIL" } });
    expect(
      byName(
        charge(600, 800),
        "(informational) the real payment-service, `DPOP_MODE=allowed`"
      )
    ).toMatchObject({
      verdict: "n/a",
      measured: "0.50×",
      byCpu: { measured: "0.50× (the proof: +500 µs (+100 %))" },
    });
  });

  const token = (
    bearer: Record<string, number>,
    dpop: Record<string, number>,
    nonce?: number
  ): BenchResults => ({
    token: {
      measurements: [
        ...Object.entries(bearer).map(([alg, cpu]) =>
          measurement(`ours ${alg}`, [1e6 / cpu], [cpu])
        ),
        ...Object.entries(dpop).map(([alg, cpu]) =>
          measurement(`${DPOP_TOKEN} ${alg}`, [1e6 / cpu], [cpu])
        ),
        ...(nonce === undefined
          ? []
          : [measurement(`${DPOP_NONCE_TOKEN} ES256`, [1e6 / nonce], [nonce])]),
      ],
    },
    servers: [],
    errors: [],
  });

  it("judges /token with a DPoP proof at 0.8x the Bearer row of each algorithm, and shows the nonce row as information", () => {
    const r = token(
      { RS256: 800, ES256: 400, EdDSA: 400 },
      { RS256: 1000, ES256: 501, EdDSA: 400 },
      600
    );
    expect(byName(r, "`POST /token` RS256 with a DPoP proof")).toMatchObject({
      verdict: "PASS",
      byCpu: { measured: "0.80× (the proof: +200 µs (+25 %))" },
    });
    expect(byName(r, "`POST /token` ES256 with a DPoP proof")).toMatchObject({
      verdict: "FAIL",
      measured: "0.80×",
      byCpu: { verdict: "FAIL" },
    });
    expect(byName(r, "`POST /token` EdDSA with a DPoP proof")?.verdict).toBe(
      "PASS"
    );
    expect(
      byName(
        r,
        "(informational) `POST /token` ES256 with a DPoP proof and nonces"
      )
    ).toMatchObject({ verdict: "n/a", measured: "0.67×" });
    expect(
      byName(token({ ES256: 400 }, {}), "`POST /token` ES256 with a DPoP proof")
        ?.verdict
    ).toBe("not run");
  });

  const load = (statuses: Record<string, number>, seconds = 4) =>
    ({
      seconds,
      statuses,
      total: Object.values(statuses).reduce((a, b) => a + b, 0),
    } as LoadResult);
  const MB = 1024 * 1024;
  const sample = (
    after: string,
    at: number,
    heapMb: number,
    statuses?: Record<string, number>
  ): FloodSample => ({
    after,
    at,
    heapUsed: heapMb * MB,
    rss: 150 * MB,
    ...(statuses ? { load: load(statuses) } : {}),
  });
  const part = (
    samples: FloodSample[],
    answers: Record<string, number>,
    more: Partial<DPoPFloodPart> = {}
  ): DPoPFloodPart => ({
    server: "payment-service",
    samples,
    segments: samples.flatMap((s) => (s.load ? [s.load] : [])),
    proofsSent: Object.values(answers).reduce((a, b) => a + b, 0),
    answers,
    maxRss: 160 * MB,
    afterwards: 201,
    retriedAfterwards: true,
    ...more,
  });
  // 1,000 proofs accepted a second for 48 s: the cache holds those of the last 36 s
  const steady = (lastHeapMb: number) =>
    part(
      [
        sample("before", 0, 10),
        ...Array.from({ length: 12 }, (_, i) =>
          sample(
            `segment ${i + 1}`,
            4 * (i + 1),
            Math.min(10 + (4 * (i + 1) * 1000 * 150) / MB, 15.15),
            { "201": 4000 }
          )
        ),
        sample("segment 13", 52, lastHeapMb, { "201": 4000 }),
      ],
      { "201": 52_000 }
    );

  it("holds the DPoP flood at payment-service levelled off once it has lasted longer than the replay cache remembers", () => {
    expect(dpopFloodCheck(steady(15.5))).toMatchObject({ verdict: "PASS" });
    expect(dpopFloodCheck(steady(15.5)).measured).toContain(
      "+0.4 MB from 36 s on"
    );
    // still growing by more than 2 MB after 36 s: not bounded by time
    expect(dpopFloodCheck(steady(17.5)).verdict).toBe("FAIL");
    expect(
      dpopFloodCheck(part(steady(15.5).samples, { "201": 50_000, "503": 2000 }))
        .verdict
    ).toBe("FAIL");
    expect(
      dpopFloodCheck(
        part(steady(15.5).samples, { "201": 52_000 }, { maxRss: 201 * MB })
      ).verdict
    ).toBe("FAIL");
    expect(
      dpopFloodCheck(part(steady(15.5).samples.slice(0, 5), { "201": 16_000 }))
        .verdict
    ).toBe("not run");
    // a bigger cache may grow by a quarter of its size after 36 s (a Map's table doubling), not by as much again
    const big = (lastMb: number) =>
      part(
        [
          sample("before", 0, 10),
          sample("segment 1", 20, 18, { "201": 20_000 }),
          sample("segment 2", 40, 22, { "201": 20_000 }),
          sample("segment 3", 80, lastMb, { "201": 40_000 }),
        ],
        { "201": 80_000 }
      );
    expect(dpopFloodCheck(big(25)).verdict).toBe("PASS");
    expect(dpopFloodCheck(big(25.1)).verdict).toBe("FAIL");
    expect(dpopFloodCheck(undefined).verdict).toBe("not run");
  });

  it("estimates what a remembered proof costs from the proofs of the last 36 s", () => {
    const estimate = replayCacheEstimate(steady(15.4))!;
    expect(estimate.entries).toBe(36_000);
    // the heap grown since the warm-up over the proofs remembered since then: (15.4 MB - 10.57 MB) / 32,000
    expect(Math.round(estimate.bytesPerEntry)).toBe(158);
  });

  it("wants 503 with Retry-After and no growth once the small replay cache is full, and a good request served afterwards", () => {
    const full = (
      heap: [number, number],
      answers: Record<string, number>,
      more: Partial<DPoPFloodPart> = {}
    ) =>
      part(
        [
          sample("before", 0, 10),
          sample("warm-up", 3, 10.5, { "201": 3000 }),
          sample("segment 1", 7, heap[0], { "201": 7000, "503": 5000 }),
          sample("segment 2", 11, heap[1], { "503": 12_000 }),
        ],
        answers,
        { replayCacheMaxEntries: 10_000, ...more }
      );
    expect(
      fullCacheCheck(
        full([11.5, 11.6], { "201": 10_000, "503 30": 9000, "503 31": 8000 })
      )
    ).toMatchObject({
      verdict: "PASS",
      measured:
        "bound 10000: 27000 proofs, 17000 answered 503 (Retry-After 30–31 s); heap after GC +0.1 MB while full (7–11 s); max RSS 160 MB; afterwards a good request got 201",
    });
    expect(
      fullCacheCheck(full([11.5, 11.6], { "201": 10_000, "503": 17_000 }))
        .verdict
    ).toBe("FAIL");
    expect(
      fullCacheCheck(full([11.5, 13], { "201": 10_000, "503 30": 17_000 }))
        .verdict
    ).toBe("FAIL");
    expect(
      fullCacheCheck(
        full(
          [11.5, 11.6],
          { "201": 10_000, "503 30": 17_000 },
          { afterwards: 503 }
        )
      ).verdict
    ).toBe("FAIL");
    // a smoke run asks once and does not wait for the Retry-After
    expect(
      fullCacheCheck(
        full(
          [11.5, 11.6],
          { "201": 10_000, "503 30": 17_000 },
          { afterwards: 503, retriedAfterwards: false }
        )
      ).verdict
    ).toBe("PASS");
    // more proofs taken than the bound, before any could expire, and never a 503: the bound did not hold
    const overflow = part(
      [sample("before", 0, 10), sample("segment 1", 4, 14, { "201": 12_000 })],
      { "201": 12_000 },
      { replayCacheMaxEntries: 10_000 }
    );
    expect(fullCacheCheck(overflow).verdict).toBe("FAIL");
    const neverFull = part(
      [sample("before", 0, 10), sample("segment 1", 4, 11, { "201": 4000 })],
      { "201": 4000 },
      { replayCacheMaxEntries: 10_000 }
    );
    expect(fullCacheCheck(neverFull).verdict).toBe("not run");
  });

  it("tells the answers by status, the Retry-After values as a range", () => {
    expect(
      describeAnswers({ "503 31": 2, "201": 1000, "503 35": 3, "503": 1 })
    ).toBe("201: 1,000, 503 with Retry-After 31–35 s: 5, 503 without: 1");
  });

  it("puts each DPoP row under the same request without a proof, with what the proof costs", () => {
    const results: BenchResults = {
      ...token({ ES256: 400 }, { ES256: 600 }, 700),
      charge: charge(600, 900).charge!,
      servers: [],
      errors: [],
    };
    const md = renderMarkdown(
      results,
      MACHINE,
      parseArgs([], "RESULTS.md"),
      []
    );
    expect(md).toContain(
      "| `POST /token` | auth-server, client_secret_basic | ES256 | 2,500 (2,500–2,500) | 1 ms | 2 ms | 1.00× | 400 µs | 2,500 | 1.00× | — |"
    );
    expect(md).toContain(
      "| `POST /token` | the same + a DPoP proof, nonces off (`DPOP_NONCE_REQUIRED=false`) | ES256 | 1,667 (1,667–1,667) | 1 ms | 2 ms | 0.67× | 600 µs | 1,667 | 0.67× | +200 µs (+50 %) |"
    );
    expect(md).toContain(
      "| the same + a DPoP proof with the current nonce (the default; informational) | ES256 |"
    );
    expect(md).toContain(
      `| \`POST /charge\` | ${DPOP_GUARDED} |  | 1,111 (1,111–1,111) | 1 ms | 2 ms | 0.67× | 900 µs | 1,111 | 0.67× | +300 µs (+50 %) |`
    );
  });
});

describe("the token table", () => {
  it("states what 1.5x oidc-provider leaves per ES256/EdDSA token, next to what node:http alone and jose's signature cost", () => {
    const token = (name: string, cpu: number) =>
      measurement(name, [1e6 / cpu], [cpu]);
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
      crypto: [
        {
          alg: "EdDSA",
          joseSign: 25000,
          joseVerify: 9000,
          nodeSign: 32000,
          nodeVerify: 13000,
          nodeToken: 40000,
        },
      ],
      servers: [],
      errors: [],
    };
    const md = renderMarkdown(
      results,
      MACHINE,
      parseArgs([], "RESULTS.md"),
      []
    );
    expect(md).toContain(
      "| transport: node:http alone, a token response built once, no work per request (bench-only) | EdDSA |"
    );
    expect(md).toContain(
      "Budget: 1.5× oidc-provider leaves a token at most ES256 240 µs (ours: 150 µs), EdDSA 220 µs (ours: 140 µs) of CPU. " +
        "node:http alone, reading the same request and writing a token-sized answer, took 30 µs of it; " +
        "jose's SignJWT a whole EdDSA token 40 µs (scenario 5); the floor server spent 120 µs per EdDSA token, the same floor as one Express route 250 µs."
    );
    expect(md).toContain(
      "| EdDSA | 40 µs | 25 µs | 15 µs | 140 µs | 10.7 % | no |"
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
    expect(() => parseArgs(["--only=nope"], "x")).toThrow(
      /unknown scenario nope/
    );
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
    const byName = (r: BenchResults, text: string) =>
      checkTargets(r).find((c) => c.target.includes(text))!;
    expect(
      byName(stores(800, 1600), "`POST /token` on PostgreSQL + Redis")
    ).toMatchObject({
      verdict: "PASS",
      byCpu: {
        verdict: "PASS",
        measured:
          "0.80× (the shared stores +250 µs (+25 %): PostgreSQL alone +53 µs (+5 %), Redis alone +111 µs (+11 %))",
      },
    });
    expect(
      byName(stores(799, 1600), "`POST /token` on PostgreSQL + Redis").verdict
    ).toBe("FAIL");
    expect(
      byName(stores(800, 1600), "`POST /charge` on PostgreSQL")
    ).toMatchObject({ verdict: "PASS", measured: "0.80×" });
    expect(
      byName(stores(800, 1599), "`POST /charge` on PostgreSQL").verdict
    ).toBe("FAIL");
    expect(
      byName(stores(800, 1600), "two auth-server instances vs one")
    ).toMatchObject({ verdict: "n/a", measured: "0.90×" });
  });
});

describe("the targets table, as RESULTS.md prints it", () => {
  /** Three rounds of `name`, their numbers made from the name, so that no two ratios are alike. */
  const made = (name: string): Measurement => {
    let h = 0;
    for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 1000;
    const rps = [900 + h, 850 + ((h * 7) % 300), 950 + ((h * 13) % 200)];
    return measurement(
      name,
      rps,
      rps.map((r, i) => 1e6 / r + i * 3)
    );
  };
  const server = (label: string, kind: string, maxRss: number) =>
    ({ label, spec: { kind }, maxRss } as unknown as ChildServer);
  /** The "## Targets" section of RESULTS.md for these results. */
  const targetsTable = (r: BenchResults) => {
    const lines = renderMarkdown(
      r,
      MACHINE,
      parseArgs([], "RESULTS.md"),
      []
    ).split("\n");
    const start = lines.indexOf("## Targets");
    const end = lines.findIndex((l, i) => i > start && l.startsWith("## "));
    return lines.slice(start, end === -1 ? undefined : end).join("\n");
  };

  it("with every scenario measured", () => {
    const all: BenchResults = {
      crypto: TOKEN_ALGS.map((alg, i) => ({
        alg,
        joseSign: 4000 + i * 9000,
        joseVerify: 0,
        nodeSign: 0,
        nodeVerify: 0,
        nodeToken: 5000 + i * 11000,
      })),
      token: {
        measurements: [
          ...TOKEN_ALGS.flatMap((alg) => [
            made(`ours ${alg}`),
            made(`oidc-provider ${alg}`),
            made(`${DPOP_TOKEN} ${alg}`),
            made(`${DPOP_NONCE_TOKEN} ${alg}`),
          ]),
          made(`${TRACED} ${TRACED_ALG}`),
        ],
      },
      charge: {
        measurements: [
          GUARDED,
          BARE,
          JWT_BEARER,
          PAYMENT_SERVICE,
          DPOP_GUARDED,
          PAYMENT_SERVICE_DPOP,
          GUARDED_METRICS,
          PAYMENT_SERVICE_TRACED,
        ].map(made),
      },
      stores: {
        measurements: [
          TOKEN_EMBEDDED,
          TOKEN_SHARED,
          TOKEN_POSTGRES,
          TOKEN_REDIS,
          TOKEN_TWO,
          CHARGE_SQLITE,
          CHARGE_POSTGRES,
        ].map(made),
      },
      e2e: {
        measurement: made("e2e"),
        tokensIssued: { "order-service payment-service payments:charge": 2 },
        tokenRequests: 2,
        orders: 5000,
        elapsedSeconds: 400,
        tokenTtl: 300,
        paid: 5000,
        pending: 0,
        failed: 0,
        answered: 5000,
      },
      flood: {
        samples: [],
        segments: [],
        tokensSent: 20000,
        jwksFetches: 1,
        maxRss: 120 * 1024 * 1024,
        heapGrowth: 3 * 1024 * 1024,
      },
      servers: [
        server("auth-server RS256", "auth-server", 90 * 1024 * 1024),
        server("payment-service", "payment-service", 110 * 1024 * 1024),
        server("oidc-provider RS256", "oidc-provider", 300 * 1024 * 1024),
      ],
      errors: [],
    };
    expect(targetsTable(all)).toMatchSnapshot();
  });

  it("with nothing measured", () => {
    expect(targetsTable({ servers: [], errors: [] })).toMatchSnapshot();
  });

  it("with one side of some pairs, or what a note needs, missing", () => {
    expect(
      targetsTable({
        token: {
          measurements: [
            made("ours RS256"),
            made("oidc-provider RS256"),
            made(`${DPOP_TOKEN} ES256`),
            made(`${DPOP_NONCE_TOKEN} RS256`),
            made(`${DPOP_NONCE_TOKEN} EdDSA`),
            made(`${TRACED} ${TRACED_ALG}`),
          ],
        },
        charge: {
          measurements: [GUARDED, BARE, DPOP_GUARDED, PAYMENT_SERVICE_DPOP, PAYMENT_SERVICE_TRACED].map(made),
        },
        stores: {
          measurements: [TOKEN_EMBEDDED, TOKEN_SHARED, TOKEN_TWO, CHARGE_SQLITE].map(made),
        },
        servers: [],
        errors: [],
      })
    ).toMatchSnapshot();
  });
});
