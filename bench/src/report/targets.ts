import { cpuRatio, pairedRatio, type Measurement } from "../rounds.js";
import { median } from "../stats.js";
import {
  BARE,
  DPOP_GUARDED,
  DPOP_GUARDED_RS256,
  GUARDED,
  GUARDED_METRICS,
  JWT_BEARER,
  JWT_BEARER_DPOP,
  PAYMENT_SERVICE,
  PAYMENT_SERVICE_DPOP,
  PAYMENT_SERVICE_TRACED,
  type ChargeResults,
} from "../scenarios/charge.js";
import type { CryptoRates } from "../scenarios/crypto-worker.js";
import type { E2eResults } from "../scenarios/e2e.js";
import {
  REPLAY_TTL_SECONDS,
  type DPoPFloodPart,
  type DPoPFloodResults,
} from "../scenarios/dpop-flood.js";
import type { FloodResults } from "../scenarios/flood.js";
import {
  CHARGE_POSTGRES,
  CHARGE_SQLITE,
  TOKEN_EMBEDDED,
  TOKEN_POSTGRES,
  TOKEN_REDIS,
  TOKEN_SHARED,
  TOKEN_TWO,
  type StoresResults,
} from "../scenarios/stores.js";
import {
  DPOP_NONCE_TOKEN,
  DPOP_TOKEN,
  TOKEN_ALGS,
  TRACED,
  TRACED_ALG,
  type TokenResults,
} from "../scenarios/token.js";
import type { ChildServer } from "../servers/child-server.js";

export interface BenchResults {
  crypto?: CryptoRates[];
  token?: TokenResults;
  charge?: ChargeResults;
  stores?: StoresResults;
  e2e?: E2eResults;
  flood?: FloodResults;
  dpopFlood?: DPoPFloodResults;
  servers: ChildServer[];
  /** Scenarios that could not run, with why. */
  errors: string[];
}

export type Verdict = "PASS" | "FAIL" | "not run" | "n/a";

/**
 * One target, judged twice: by throughput (what the issue asks, noisy on a
 * shared machine) and, where it is a ratio, by server CPU per request (what
 * the throughput ratio would be on a quiet core; contention barely moves it).
 */
export interface TargetCheck {
  target: string;
  measured: string;
  verdict: Verdict;
  byCpu?: { measured: string; verdict: Verdict };
}

export const RSS_LIMIT = 200 * 1024 * 1024;
/** Heap growth after GC, across the flood's measured segments, that still counts as levelled off. */
export const FLOOD_HEAP_GROWTH_LIMIT = 16 * 1024 * 1024;
/** DPoP (RFC 9449): `POST /token` with a proof, at least this share of the same request's throughput with Bearer. */
export const DPOP_TOKEN_MIN = 0.8;
/** DPoP: `POST /charge` with a DPoP-bound token and a proof, at least this share of the same request with a Bearer token. */
export const DPOP_CHARGE_MIN = 0.75;
/** Heap growth after GC, once a DPoP flood has lasted longer than the replay cache remembers, that still counts as levelled off (or a quarter of the growth until then, if more). */
export const DPOP_FLOOD_LEVEL_LIMIT = 2 * 1024 * 1024;
/** Payment-service's replay cache bound (token-verifier's default `replayCacheMaxEntries`). */
export const DEFAULT_REPLAY_CACHE = 200_000;
/** Above this share of a `/token` request's CPU, jose's cost over node:crypto would let a node:crypto signer stay. */
export const JOSE_SHARE_LIMIT = 0.1;
const OUR_APPS = new Set(["auth-server", "payment-service", "order-service"]);

export function find(
  measurements: Measurement[] | undefined,
  name: string
): Measurement | undefined {
  return measurements?.find((m) => m.name === name);
}

const verdict = (ok: boolean | undefined): Verdict =>
  ok === undefined ? "not run" : ok ? "PASS" : "FAIL";
const x = (n: number) => `${n.toFixed(2)}×`;
const us = (n: number) => `${Math.round(n)} µs`;
const pct = (n: number) => `${(n * 100).toFixed(1)} %`;

/** Requests (or operations) per CPU-second, from CPU µs per request. */
export const perCpuSecond = (cpuUs: number) => 1e6 / cpuUs;

/** What jose costs over node:crypto per token, against what a whole `/token` request of ours costs, for one algorithm. */
export interface JoseShare {
  alg: string;
  /** CPU per whole token from jose's `SignJWT` (scenario 5), µs. */
  joseUs: number;
  /** CPU per whole token from node:crypto (scenario 5), µs. */
  nodeUs: number;
  /** `joseUs - nodeUs`. */
  extraUs: number;
  /** Our auth-server's CPU per `/token` request (scenario 1, median of rounds), µs. */
  requestUs: number;
  /** `extraUs / requestUs`: the share of `/token` throughput jose costs on a saturated core. */
  share: number;
}

/**
 * For each algorithm of the `/token` scenario: how much of a token request's
 * CPU is jose's extra cost over node:crypto's `sign`, from scenario 5's
 * whole-token rates (per CPU-second) and the measured CPU per request.
 */
export function joseShares(r: BenchResults): JoseShare[] {
  return TOKEN_ALGS.flatMap((alg) => {
    const rates = r.crypto?.find((c) => c.alg === alg);
    const ours = find(r.token?.measurements, `ours ${alg}`);
    if (!rates || !ours) return [];
    const joseUs = 1e6 / rates.joseSign;
    const nodeUs = 1e6 / rates.nodeToken;
    const requestUs = median(ours.cpuPerRequest);
    return [
      {
        alg,
        joseUs,
        nodeUs,
        extraUs: joseUs - nodeUs,
        requestUs,
        share: (joseUs - nodeUs) / requestUs,
      },
    ];
  });
}

/** What a row puts after its CPU ratio, from the two measurements it compares. */
type Note = (a: Measurement, b: Measurement) => string;

/** ` (label+N µs (+P %))`: what `a` costs per request over `b`. */
const costNote =
  (label = ""): Note =>
  (a, b) =>
    ` (${label}${added(a, b)})`;

/** Evaluates the issue's targets from ratios measured within this run. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const checks: TargetCheck[] = [];
  /** A judged ratio: `a` at least `min`× `b`, by throughput and by CPU; "not run" without both. */
  const ratioCheck = (
    target: string,
    a: Measurement | undefined,
    b: Measurement | undefined,
    min: number,
    note?: Note
  ) => {
    if (!a || !b) {
      checks.push({ target, measured: "—", verdict: "not run" });
      return;
    }
    const ratio = pairedRatio(a, b);
    const cost = cpuRatio(a, b);
    checks.push({
      target,
      measured: x(ratio),
      verdict: verdict(ratio >= min),
      byCpu: {
        measured: `${x(cost)}${note?.(a, b) ?? ""}`,
        verdict: verdict(cost >= min),
      },
    });
  };
  const info = (target: string, measured: string, byCpu?: string) =>
    checks.push({
      target,
      measured,
      verdict: "n/a",
      ...(byCpu === undefined
        ? {}
        : { byCpu: { measured: byCpu, verdict: "n/a" as const } }),
    });
  /** An informational ratio, `a` against `b`, shown only where both were measured. */
  const compare = (
    target: string,
    a: Measurement | undefined,
    b: Measurement | undefined,
    note?: Note
  ) => {
    if (a && b)
      info(target, x(pairedRatio(a, b)), `${x(cpuRatio(a, b))}${note?.(a, b) ?? ""}`);
  };

  const charge = r.charge?.measurements;
  const guarded = find(charge, GUARDED);
  const bare = find(charge, BARE);
  const jwtBearer = find(charge, JWT_BEARER);
  const payment = find(charge, PAYMENT_SERVICE);
  ratioCheck("`POST /charge` with our guard ≥ 0.9× the same Express handler without auth", guarded, bare, 0.9, costNote("the guard: "));
  compare("(informational, was ≥ 1.5×) `POST /charge` with our guard vs the same handler behind express-oauth2-jwt-bearer", guarded, jwtBearer);
  if (guarded && bare && jwtBearer) {
    info(
      "(informational) what each guard adds to the same handler, CPU per request",
      "—",
      `ours ${added(guarded, bare)}, express-oauth2-jwt-bearer ${added(
        jwtBearer,
        bare
      )}`
    );
  }
  if (payment && guarded) {
    info(
      "(informational) the real payment-service vs the bench's guarded handler, same token and request",
      x(pairedRatio(payment, guarded)),
      `${us(median(payment.cpuPerRequest))} vs ${us(
        median(guarded.cpuPerRequest)
      )} per request (${added(payment, guarded)})`
    );
  }

  // the shared stores against the embedded ones, one instance each
  const stores = r.stores?.measurements;
  const embedded = find(stores, TOKEN_EMBEDDED);
  const shared = find(stores, TOKEN_SHARED);
  const pgOnly = find(stores, TOKEN_POSTGRES);
  const redisOnly = find(stores, TOKEN_REDIS);
  const eachStore: Note = (a, b) =>
    pgOnly && redisOnly
      ? ` (the shared stores ${added(a, b)}: PostgreSQL alone ${added(pgOnly, b)}, Redis alone ${added(redisOnly, b)})`
      : "";
  ratioCheck("`POST /token` on PostgreSQL + Redis ≥ 0.8× on the embedded stores, one instance each", shared, embedded, 0.8, eachStore);
  ratioCheck("`POST /charge` on PostgreSQL ≥ 0.8× on SQLite, one instance each", find(stores, CHARGE_POSTGRES), find(stores, CHARGE_SQLITE), 0.8, costNote("PostgreSQL "));
  compare("(informational) two auth-server instances vs one, on PostgreSQL + Redis, both sides on the same one server core", find(stores, TOKEN_TWO), shared, () => ": equal CPU on both sides, so this is the cost of running two, not scale-out");

  const token = r.token?.measurements;
  const shares = joseShares(r);
  const rs256 = shares.find((s) => s.alg === "RS256");
  const beyondSignature: Note = () =>
    rs256
      ? `; ours ${us(rs256.requestUs)} per token, ${us(rs256.requestUs - rs256.joseUs)} beyond jose's RS256 signature (${us(rs256.joseUs)}, scenario 5)`
      : "";
  ratioCheck("`POST /token` RS256 (client_secret_basic) ≥ 1.0× oidc-provider", find(token, "ours RS256"), find(token, "oidc-provider RS256"), 1.0, beyondSignature);
  for (const alg of ["ES256", "EdDSA"]) {
    ratioCheck(`\`POST /token\` ${alg} ≥ 1.5× oidc-provider`, find(token, `ours ${alg}`), find(token, `oidc-provider ${alg}`), 1.5);
  }
  const joseTarget =
    "jose's cost over node:crypto's `sign` ≤ 10 % of `/token` (CPU per request; above it a node:crypto signer may stay)";
  if (shares.length > 0) {
    checks.push({
      target: joseTarget,
      measured: shares
        .map(
          (s) =>
            `${s.alg} ${pct(s.share)} (${s.extraUs >= 0 ? "+" : "−"}${us(
              Math.abs(s.extraUs)
            )} of ${us(s.requestUs)})`
        )
        .join(", "),
      verdict: verdict(shares.every((s) => s.share <= JOSE_SHARE_LIMIT)),
    });
  } else checks.push({ target: joseTarget, measured: "—", verdict: "not run" });

  // DPoP (RFC 9449): each request with a proof against the same request without, measured in the same rounds
  const proofCost = costNote("the proof: ");
  ratioCheck(`\`POST /charge\` with a DPoP-bound token and a new proof ≥ ${DPOP_CHARGE_MIN}× the same request with a Bearer token (our guard, mode allowed)`, find(charge, DPOP_GUARDED), guarded, DPOP_CHARGE_MIN, proofCost);
  compare("(informational) the real payment-service, `DPOP_MODE=allowed`: DPoP-bound token and proof vs Bearer", find(charge, PAYMENT_SERVICE_DPOP), payment, proofCost);
  compare("(informational) the same with an RS256 proof (the token bound to an RSA key): an RSA verification, as the token's own", find(charge, DPOP_GUARDED_RS256), guarded, proofCost);
  compare("(informational) express-oauth2-jwt-bearer, DPoP enabled: DPoP-bound token and proof vs Bearer (its proof checked with jose too; no replay cache)", find(charge, JWT_BEARER_DPOP), find(charge, JWT_BEARER), proofCost);
  for (const alg of TOKEN_ALGS) {
    ratioCheck(`\`POST /token\` ${alg} with a DPoP proof (ES256, nonces off) ≥ ${DPOP_TOKEN_MIN}× the same request without`, find(token, `${DPOP_TOKEN} ${alg}`), find(token, `ours ${alg}`), DPOP_TOKEN_MIN, proofCost);
  }
  for (const m of token ?? []) {
    if (!m.name.startsWith(DPOP_NONCE_TOKEN)) continue;
    const alg = m.name.split(" ").at(-1)!;
    compare(`(informational) \`POST /token\` ${alg} with a DPoP proof and nonces required (the app's default) vs without a proof`, m, find(token, `ours ${alg}`), costNote("proof and nonce: "));
  }

  // the signals, on and off, in this run: metrics counting every request, and traces exported over OTLP
  ratioCheck("`POST /charge`: our guarded handler counting into /metrics ≥ 0.97× the same without (no exporter in either: the spans are the API's no-ops)", find(charge, GUARDED_METRICS), guarded, 0.97);
  compare("(informational) `POST /charge`: payment-service exporting its traces vs the same with no exporter", find(charge, PAYMENT_SERVICE_TRACED), payment, costNote());
  compare(`(informational) \`POST /token\` ${TRACED_ALG}: auth-server exporting its traces vs the same with no exporter`, find(token, `${TRACED} ${TRACED_ALG}`), find(token, `ours ${TRACED_ALG}`), costNote());

  const e2eTarget =
    "end to end: ≤ 1 token request per token lifetime per (client, audience, scope)";
  if (r.e2e) {
    const allowed = Math.max(
      1,
      Math.ceil(r.e2e.elapsedSeconds / r.e2e.tokenTtl)
    );
    const keys = Object.entries(r.e2e.tokensIssued);
    const ok =
      keys.length > 0 &&
      keys.every(([, n]) => n <= allowed) &&
      r.e2e.tokenRequests <= allowed * keys.length;
    checks.push({
      target: e2eTarget,
      measured: `${r.e2e.tokenRequests} request(s) for ${
        r.e2e.orders
      } orders in ${r.e2e.elapsedSeconds.toFixed(0)} s (TTL ${
        r.e2e.tokenTtl
      } s: ≤ ${allowed} allowed per key)`,
      verdict: verdict(ok),
    });
  } else checks.push({ target: e2eTarget, measured: "—", verdict: "not run" });

  const ours = r.servers.filter((s) => OUR_APPS.has(s.spec.kind));
  const worst = [...ours].sort((a, b) => b.maxRss - a.maxRss)[0];
  checks.push({
    target: "every app's RSS < 200 MB throughout",
    measured: worst ? `max ${mb(worst.maxRss)} (${worst.label})` : "—",
    verdict: verdict(
      worst === undefined ? undefined : worst.maxRss < RSS_LIMIT
    ),
  });

  const floodTarget =
    "a flood of distinct forged tokens does not grow payment-service without bound";
  if (r.flood) {
    const f = r.flood;
    const ok = f.heapGrowth < FLOOD_HEAP_GROWTH_LIMIT && f.maxRss < RSS_LIMIT;
    checks.push({
      target: floodTarget,
      measured: `${f.tokensSent} forged tokens: heap after GC ${signedMb(
        f.heapGrowth
      )} over the flood, max RSS ${mb(f.maxRss)}, ${
        f.jwksFetches
      } JWKS fetch(es)`,
      verdict: verdict(ok),
    });
  } else
    checks.push({ target: floodTarget, measured: "—", verdict: "not run" });

  checks.push(dpopFloodCheck(r.dpopFlood?.app));
  checks.push(fullCacheCheck(r.dpopFlood?.small));
  return checks;
}

/** The `503`s of a flood part, and how many of them came without `Retry-After`. */
function refusals(part: DPoPFloodPart): {
  refused: number;
  withoutRetryAfter: number;
} {
  let refused = 0;
  let withoutRetryAfter = 0;
  for (const [key, n] of Object.entries(part.answers)) {
    const [status, retryAfter] = key.split(" ");
    if (status !== "503") continue;
    refused += n;
    if (!retryAfter || !(Number(retryAfter) >= 1)) withoutRetryAfter += n;
  }
  return { refused, withoutRetryAfter };
}

/** The proofs accepted (201) within the 36 s before sample `i`, from the segments' counts: what the replay cache holds then. */
function remembered(part: DPoPFloodPart, i: number): number {
  let seconds = 0;
  let entries = 0;
  // newest segment first, until 36 s are covered (the time between segments, for GC, is not counted: a slight overestimate of the age)
  for (let j = i; j > 0 && seconds < REPLAY_TTL_SECONDS; j--) {
    const load = part.samples[j]!.load;
    if (!load) break;
    entries +=
      Math.min(1, (REPLAY_TTL_SECONDS - seconds) / load.seconds) *
      (load.statuses["201"] ?? 0);
    seconds += load.seconds;
  }
  return Math.min(entries, part.replayCacheMaxEntries ?? DEFAULT_REPLAY_CACHE);
}

/**
 * How many proofs payment-service's replay cache holds at the end of a
 * flood, and what each costs in heap: the heap's growth from the warm-up to
 * the end over the growth of the proofs remembered (so what the flood's
 * warm-up itself allocates, compiled code and buffers, is not counted).
 * Undefined before the flood has lasted 36 s.
 */
export function replayCacheEstimate(
  part: DPoPFloodPart
): { entries: number; bytesPerEntry: number } | undefined {
  const lastIndex = part.samples.length - 1;
  const last = part.samples[lastIndex];
  const warm = part.samples[1];
  if (!last || !warm || lastIndex < 2 || last.at < REPLAY_TTL_SECONDS)
    return undefined;
  const entries = remembered(part, lastIndex);
  const more = entries - remembered(part, 1);
  return {
    entries: Math.round(entries),
    bytesPerEntry:
      more > 0 ? (last.heapUsed - warm.heapUsed) / more : Number.NaN,
  };
}

/**
 * Part A: once the flood has lasted longer than the replay cache remembers a
 * proof, payment-service's heap after GC stops growing (its cache forgets as
 * fast as it learns, or is full): from then on it may grow by at most 2 MB or
 * a quarter of what it grew until then, whichever is more (a cache that kept
 * every proof would grow as much again in as long), its RSS stays under
 * 200 MB, every answer is 201 or 503 with `Retry-After`, and a good request
 * works afterwards.
 */
export function dpopFloodCheck(part: DPoPFloodPart | undefined): TargetCheck {
  const target = `a flood of distinct valid DPoP proofs does not grow payment-service without bound: heap after GC levels off once older than the replay cache's ${REPLAY_TTL_SECONDS} s, RSS < 200 MB`;
  if (!part) return { target, measured: "—", verdict: "not run" };
  const settled = part.samples.find((s) => s.at >= REPLAY_TTL_SECONDS);
  const last = part.samples.at(-1)!;
  const { refused, withoutRetryAfter } = refusals(part);
  const estimate = replayCacheEstimate(part);
  const measured =
    `${part.proofsSent} proofs in ${last.at.toFixed(
      0
    )} s (${refused} answered 503${
      withoutRetryAfter > 0 ? `, ${withoutRetryAfter} without Retry-After` : ""
    }): ` +
    `heap after GC ${signedMb(
      last.heapUsed - part.samples[0]!.heapUsed
    )} over the flood, ` +
    (settled && settled !== last
      ? `${signedMb(
          last.heapUsed - settled.heapUsed
        )} from ${settled.at.toFixed(0)} s on`
      : `the flood too short to level off (${REPLAY_TTL_SECONDS} s)`) +
    (estimate
      ? `; ≈${estimate.entries} proofs remembered, ≈${Math.round(
          estimate.bytesPerEntry
        )} B each (the bound, ${DEFAULT_REPLAY_CACHE}, ≈${mb(
          estimate.bytesPerEntry * DEFAULT_REPLAY_CACHE
        )})`
      : "") +
    `; max RSS ${mb(part.maxRss)}; afterwards a good request got ${
      part.afterwards
    }`;
  if (!settled || settled === last)
    return { target, measured, verdict: "not run" };
  const allowed = Math.max(
    DPOP_FLOOD_LEVEL_LIMIT,
    (settled.heapUsed - part.samples[0]!.heapUsed) / 4
  );
  const ok =
    last.heapUsed - settled.heapUsed <= allowed &&
    part.maxRss < RSS_LIMIT &&
    withoutRetryAfter === 0 &&
    openedAfterwards(part);
  return { target, measured, verdict: verdict(ok) };
}

/**
 * Part B: with the replay cache full of live proofs, the guard answers 503
 * with `Retry-After` (never forgets a live proof to make room), and the heap
 * after GC does not grow while it is full.
 */
export function fullCacheCheck(part: DPoPFloodPart | undefined): TargetCheck {
  const target =
    "with its replay cache full (the bench's guard, a small `replayCacheMaxEntries`), `/charge` answers 503 with Retry-After and memory stops growing";
  if (!part) return { target, measured: "—", verdict: "not run" };
  const { refused, withoutRetryAfter } = refusals(part);
  // samples taken after a segment that met the full cache
  const full = part.samples.filter((s) => (s.load?.statuses["503"] ?? 0) > 0);
  const first = full[0];
  const last = full.at(-1);
  const retryAfters = Object.keys(part.answers)
    .filter((k) => k.startsWith("503 "))
    .map((k) => Number(k.split(" ")[1]))
    .filter(Number.isFinite);
  const measured =
    `bound ${part.replayCacheMaxEntries}: ${part.proofsSent} proofs, ${refused} answered 503` +
    (retryAfters.length > 0
      ? ` (Retry-After ${Math.min(...retryAfters)}–${Math.max(
          ...retryAfters
        )} s${withoutRetryAfter > 0 ? `; ${withoutRetryAfter} without` : ""})`
      : "") +
    (first && last && first !== last
      ? `; heap after GC ${signedMb(
          last.heapUsed - first.heapUsed
        )} while full (${first.at.toFixed(0)}–${last.at.toFixed(0)} s)`
      : "; never full for two segments") +
    `; max RSS ${mb(part.maxRss)}; afterwards a good request got ${
      part.afterwards
    }`;
  if (!first || !last || first === last) {
    // more proofs accepted than the bound before any could expire: the cache did not hold its bound
    const accepted = part.answers["201"] ?? 0;
    const overflowed =
      part.replayCacheMaxEntries !== undefined &&
      accepted > part.replayCacheMaxEntries &&
      (part.samples.at(-1)?.at ?? 0) < REPLAY_TTL_SECONDS;
    return { target, measured, verdict: overflowed ? "FAIL" : "not run" };
  }
  const ok =
    withoutRetryAfter === 0 &&
    last.heapUsed - first.heapUsed <= DPOP_FLOOD_LEVEL_LIMIT / 2 &&
    part.maxRss < RSS_LIMIT &&
    openedAfterwards(part);
  return { target, measured, verdict: verdict(ok) };
}

/** A good request after the flood was served (or, in a smoke run that did not wait, told to come back). */
function openedAfterwards(part: DPoPFloodPart): boolean {
  return (
    part.afterwards === 201 ||
    (!part.retriedAfterwards && part.afterwards === 503)
  );
}

export function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}

function signedMb(bytes: number): string {
  return `${bytes >= 0 ? "+" : "−"}${(Math.abs(bytes) / 1024 / 1024).toFixed(
    1
  )} MB`;
}

/** `+N µs (P %)`: the CPU per request `a` costs over `b` (median of per-round differences; the share of `b`'s median). */
export function added(a: Measurement, b: Measurement): string {
  const n = Math.min(a.cpuPerRequest.length, b.cpuPerRequest.length);
  const more = median(
    Array.from(
      { length: n },
      (_, i) => a.cpuPerRequest[i]! - b.cpuPerRequest[i]!
    )
  );
  const sign = more >= 0 ? "+" : "−";
  return `${sign}${Math.abs(more).toFixed(0)} µs (${sign}${Math.abs(
    (more / median(b.cpuPerRequest)) * 100
  ).toFixed(0)} %)`;
}
