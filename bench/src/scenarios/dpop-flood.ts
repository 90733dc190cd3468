import type { BenchContext } from "../context.js";
import { chargeBody, expectStatus, fetchDPoPToken, waitForReady } from "../http.js";
import { generateProofKey, proofMaker, type ProofKey } from "../load/dpop-proofs.js";
import type { LoadJob, LoadResult } from "../load/job.js";
import type { ChildServer } from "../servers/child-server.js";
import type { MemorySample } from "../servers/protocol.js";
import { mb } from "./flood.js";

/**
 * How long a resource server remembers a proof: token-verifier's replay
 * cache keeps every entry `maxAgeSeconds + leewaySeconds + 1` = 30 + 5 + 1 s
 * (the defaults payment-service runs with).
 */
export const REPLAY_TTL_SECONDS = 36;
/** The bound of the bench's own guard in part B: small enough that one load generator fills it here. */
export const SMALL_REPLAY_CACHE = { full: 10_000, quick: 1_000 };

export interface FloodSample extends MemorySample {
  /** `before`, `warm-up`, `segment 1`, ... */
  after: string;
  /** Seconds since the flood began (the warm-up's start). */
  at: number;
  /** The segment (or warm-up) just before the sample; none for `before`. */
  load?: LoadResult;
}

/** One part of the DPoP flood: memory after GC, when, and what the answers were. */
export interface DPoPFloodPart {
  /** Which server, how configured. */
  server: string;
  /** The replay cache's bound, when the bench set it (part B); undefined: payment-service's default (200,000). */
  replayCacheMaxEntries?: number;
  /** Heap and RSS after a full GC, with the seconds since the flood began: before it, after the warm-up, then after each segment. */
  samples: FloodSample[];
  segments: LoadResult[];
  /** Distinct proofs sent (answers counted). */
  proofsSent: number;
  /** Answers by status and `Retry-After` value (`201`, `503 12`, ...), over the whole part, warm-up included. */
  answers: Record<string, number>;
  maxRss: number;
  /** The status of a good request (new proof) after the flood; with a full cache, after the `Retry-After` it was given (a smoke run asks once). */
  afterwards: number;
  /** Whether a 503 afterwards was retried after its `Retry-After` (not in a smoke run). */
  retriedAfterwards: boolean;
}

export interface DPoPFloodResults {
  /** Part A: the real payment-service, `DPOP_MODE=allowed`, its default replay cache. */
  app: DPoPFloodPart;
  /** Part B: the bench's charge handler behind our guard with a replay cache of {@link SMALL_REPLAY_CACHE} entries. */
  small: DPoPFloodPart;
}

/**
 * The memory guard of DPoP: one holder of a valid DPoP-bound token and its
 * key sends distinct valid proofs (a new `jti` each) at `/charge` as fast as
 * the server answers. Every proof that passes is remembered by the
 * resource server's replay cache for 36 s, up to its bound; once full it
 * answers `503` with `Retry-After` rather than forget a live proof.
 *
 * Part A floods the real payment-service for twice 36 s: its heap after GC
 * must level off in the second 36 s (at the proofs of the last 36 s, or at
 * the bound if this machine can reach it) and its RSS stay under 200 MB. Part B does
 * the same to the bench's own guard with a small bound (the
 * `replayCacheMaxEntries` of `createDPoPVerifier`; payment-service has no
 * setting for it) so that the full cache is reached: `503` with
 * `Retry-After`, and no growth once full.
 *
 * Every request repeats one Idempotency-Key and body (after the first,
 * payment-service answers from its ledger), so each costs the server
 * little beyond the guard and the flood is as fast as the guard lets it be.
 */
export async function runDPoPFlood(ctx: BenchContext): Promise<DPoPFloodResults> {
  const started: ChildServer[] = [];
  const start = async (...args: Parameters<BenchContext["start"]>) => {
    const server = await ctx.start(...args);
    started.push(server);
    return server;
  };
  try {
    const auth = await start("auth-server-dpop-flood", { kind: "auth-server", alg: "RS256" });
    const key = generateProofKey();
    const payment = await start("payment-service-dpop-flood", { kind: "payment-service", issuer: auth.url, dpopMode: "allowed" });
    const app = await floodPart(ctx, auth.url, key, payment, "payment-service (the app), DPOP_MODE=allowed, PUBLIC_URL its origin", undefined, {
      // twice the replay cache's 36 s: it fills during the first, and must stay level during the second
      segments: ctx.options.quick ? 2 : Math.ceil((2 * REPLAY_TTL_SECONDS) / ctx.options.roundSeconds),
    });
    await ctx.stop(payment);
    const max = ctx.options.quick ? SMALL_REPLAY_CACHE.quick : SMALL_REPLAY_CACHE.full;
    const guarded = await start("charge-guarded-dpop-flood", { kind: "charge-guarded", issuer: auth.url, dpopMode: "allowed", replayCacheMaxEntries: max });
    const small = await floodPart(ctx, auth.url, key, guarded, "the bench's charge handler + our guard (`createDPoPVerifier`, mode allowed)", max, {
      // until two segments in a row met the full cache (at least one wholly in it), or 36 s
      segments: Math.ceil(REPLAY_TTL_SECONDS / ctx.options.roundSeconds),
      untilFull: 2,
    });
    return { app, small };
  } finally {
    await ctx.stop(...started);
  }
}

async function floodPart(
  ctx: BenchContext,
  issuer: string,
  key: ProofKey,
  server: ChildServer,
  name: string,
  replayCacheMaxEntries: number | undefined,
  plan: { segments: number; untilFull?: number },
): Promise<DPoPFloodPart> {
  await waitForReady(server.url);
  const { access_token: token } = await fetchDPoPToken(issuer, key.privateJwk);
  const request = (more: Record<string, string> = {}) => ({
    "content-type": "application/json",
    "idempotency-key": "dpop-flood",
    authorization: `DPoP ${token}`,
    ...more,
  });
  const proof = () => proofMaker({ htm: "POST", htu: `${server.url}/charge`, key: key.privateJwk, accessToken: token })();
  // the one charge every later request repeats
  await expectStatus(`${server.url}/charge`, { method: "POST", headers: request({ dpop: proof() }), body: chargeBody("dpop-flood") }, [201]);

  const job = (seconds: number): LoadJob => ({
    title: "dpop-flood",
    url: server.url,
    method: "POST",
    path: "/charge",
    headers: request(),
    body: chargeBody("dpop-flood"),
    dpop: { htm: "POST", htu: `${server.url}/charge`, key: key.privateJwk, accessToken: token },
    countHeader: "retry-after",
    // 503 only with a Retry-After: checked from `answers`
    expect: [201, 503],
    seconds,
    connections: ctx.options.connections,
  });
  const answers: Record<string, number> = {};
  const samples: FloodSample[] = [{ ...(await server.memory(true)), after: "before", at: 0 }];
  const t0 = Date.now();
  const at = () => Math.round((Date.now() - t0) / 100) / 10;
  const segment = async (after: string, seconds: number) => {
    const load = await ctx.load.run(job(seconds));
    for (const [k, v] of Object.entries(load.headerValues ?? {})) answers[k] = (answers[k] ?? 0) + v;
    const sample = { ...(await server.memory(true)), after, at: at(), load };
    samples.push(sample);
    const short = name.split(/[,(]/)[0]!.trim();
    ctx.log(`  ${short}, ${after} (${sample.at.toFixed(0)} s): ${load.rps.toFixed(0)} proofs/s, ${load.statuses["503"] ?? 0} answered 503, heap ${mb(sample.heapUsed)}, rss ${mb(sample.rss)}`);
    return load;
  };
  const warm = await segment("warm-up", ctx.options.warmupSeconds);
  const segments: LoadResult[] = [];
  let fullInARow = 0;
  for (let i = 0; i < plan.segments; i++) {
    const result = await segment(`segment ${i + 1}`, ctx.options.roundSeconds);
    segments.push(result);
    fullInARow = (result.statuses["503"] ?? 0) > 0 ? fullInARow + 1 : 0;
    if (plan.untilFull !== undefined && fullInARow >= plan.untilFull) break;
  }
  // and a good request still gets through: at once, unless the cache is full; then after the Retry-After it was
  // given (a smoke run asks once)
  const deadline = Date.now() + (ctx.options.quick ? 0 : (REPLAY_TTL_SECONDS + 5) * 1000);
  let afterwards = 0;
  for (let first = true; first || Date.now() < deadline; first = false) {
    const res = await fetch(`${server.url}/charge`, { method: "POST", headers: request({ dpop: proof() }), body: chargeBody("dpop-flood") });
    await res.arrayBuffer();
    afterwards = res.status;
    if (res.status !== 503) break;
    await new Promise((r) => setTimeout(r, Math.min(5, Number(res.headers.get("retry-after") ?? 1)) * 1000));
  }
  return {
    server: name,
    ...(replayCacheMaxEntries === undefined ? {} : { replayCacheMaxEntries }),
    samples,
    segments,
    proofsSent: warm.total + segments.reduce((sum, s) => sum + s.total, 0),
    answers,
    maxRss: server.maxRss,
    afterwards,
    retriedAfterwards: !ctx.options.quick,
  };
}
