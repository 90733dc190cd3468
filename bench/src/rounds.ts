import type { LoadGenerator } from "./load/load-generator.js";
import type { LoadJob, LoadResult } from "./load/job.js";
import type { BenchOptions } from "./options.js";
import type { ChildServer } from "./servers/child-server.js";
import { median, summarize, type Summary } from "./stats.js";

/** One server under load in a scenario; its job may change per round (fresh token). */
export interface Target {
  name: string;
  job: () => Promise<Omit<LoadJob, "seconds" | "connections">>;
  /** The processes that serve it, whose CPU time is charged to its requests. */
  processes: ChildServer[];
}

export interface Measurement {
  name: string;
  rounds: LoadResult[];
  /** CPU time of the serving processes per answered request, µs, per round. */
  cpuPerRequest: number[];
  rps: Summary;
  p50: number;
  p99: number;
  /** Wrong statuses, connection errors and timeouts over warm-up and all rounds. */
  failures: number;
  failureDetail: string[];
}

/**
 * Warm every target up (thrown away), then measure `rounds` rounds in which
 * the targets take turns, the order rotating each round, each target's time
 * split into two halves mirrored around the middle of the round (A B C, then
 * C B A). Interleaving means that when the shared machine gets busier, all
 * compared servers feel it; mirroring, that they feel it alike.
 */
export async function measure(
  load: LoadGenerator,
  targets: Target[],
  options: BenchOptions,
  log: (line: string) => void,
): Promise<Measurement[]> {
  const results = new Map<string, LoadResult[]>(targets.map((t) => [t.name, []]));
  const cpu = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const cpuMs = (target: Target) => target.processes.reduce((sum, p) => sum + p.cpuMs(), 0);
  const failures = new Map<string, string[]>(targets.map((t) => [t.name, []]));
  const runOne = async (target: Target, seconds: number): Promise<LoadResult> => {
    const job = { ...(await target.job()), seconds, connections: options.connections };
    const result = await load.run(job);
    const problems = [];
    if (result.unexpected > 0) problems.push(`${result.unexpected} unexpected statuses ${JSON.stringify(result.statuses)}`);
    if (result.errors > 0) problems.push(`${result.errors} connection errors`);
    if (result.total === 0) problems.push("no answer at all");
    if (problems.length > 0) failures.get(target.name)!.push(`${target.name}: ${problems.join(", ")}`);
    return result;
  };
  for (const target of targets) {
    const warm = await runOne(target, options.warmupSeconds);
    log(`  warm-up  ${target.name}: ${warm.rps.toFixed(0)} req/s`);
  }
  for (let round = 0; round < options.rounds; round++) {
    // The targets take turns in a rotated order, then in the reverse order, for half the round's time
    // each: every target's two halves are centred on the middle of the round, so a machine that gets
    // busier (or quieter) during a round weighs on every target alike, whatever its place in the turn.
    const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
    const halves = new Map<string, { results: LoadResult[]; cpuMs: number }>();
    const runHalf = async (target: Target) => {
      const cpuBefore = cpuMs(target);
      const result = await runOne(target, options.roundSeconds / 2);
      const half = halves.get(target.name) ?? { results: [], cpuMs: 0 };
      half.results.push(result);
      half.cpuMs += cpuMs(target) - cpuBefore;
      halves.set(target.name, half);
    };
    for (const target of order) await runHalf(target);
    for (const target of [...order].reverse()) await runHalf(target);
    for (const target of order) {
      const half = halves.get(target.name)!;
      const result = combine(half.results);
      results.get(target.name)!.push(result);
      cpu.get(target.name)!.push((half.cpuMs * 1000) / Math.max(1, result.total));
      log(`  round ${round + 1}  ${target.name}: ${result.rps.toFixed(0)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, ${cpu.get(target.name)!.at(-1)!.toFixed(0)} µs CPU/req`);
    }
  }
  return targets.map((t) => {
    const rounds = results.get(t.name)!;
    const detail = failures.get(t.name)!;
    return {
      name: t.name,
      rounds,
      cpuPerRequest: cpu.get(t.name)!,
      rps: summarize(rounds.map((r) => r.rps)),
      p50: median(rounds.map((r) => r.p50)),
      p99: median(rounds.map((r) => r.p99)),
      failures: detail.length,
      failureDetail: detail,
    };
  });
}

/**
 * One round of a target from its halves: requests and statuses added up,
 * throughput over the whole time, latency percentiles averaged (weighted by
 * requests; the halves are of equal length and alike).
 */
export function combine(halves: readonly LoadResult[]): LoadResult {
  const sum = (pick: (h: LoadResult) => number) => halves.reduce((n, h) => n + pick(h), 0);
  const total = sum((h) => h.total);
  const seconds = sum((h) => h.seconds);
  const weighted = (pick: (h: LoadResult) => number) => (total === 0 ? median(halves.map(pick)) : sum((h) => pick(h) * h.total) / total);
  const add = (pick: (h: LoadResult) => Record<string, number> | undefined) => {
    const counts: Record<string, number> = {};
    for (const h of halves) for (const [k, v] of Object.entries(pick(h) ?? {})) counts[k] = (counts[k] ?? 0) + v;
    return counts;
  };
  const first = halves[0]!;
  return {
    title: first.title,
    seconds,
    rps: seconds > 0 ? total / seconds : 0,
    p50: Math.round(weighted((h) => h.p50) * 10) / 10,
    p99: Math.round(weighted((h) => h.p99) * 10) / 10,
    total,
    unexpected: sum((h) => h.unexpected),
    statuses: add((h) => h.statuses),
    errors: sum((h) => h.errors),
    timeouts: sum((h) => h.timeouts),
    ...(first.bodyMatches ? { bodyMatches: add((h) => h.bodyMatches) } : {}),
    ...(first.headerValues ? { headerValues: add((h) => h.headerValues) } : {}),
  };
}

/**
 * How many times cheaper `a` is than `b` in server CPU per request (median
 * of per-round ratios): the throughput ratio the two would show on a quiet
 * core, and a number that contention on a shared machine barely moves.
 */
export function cpuRatio(a: Measurement, b: Measurement): number {
  const n = Math.min(a.cpuPerRequest.length, b.cpuPerRequest.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(b.cpuPerRequest[i]! / a.cpuPerRequest[i]!);
  return median(ratios);
}

/** The median over rounds of `a`'s throughput divided by `b`'s in the same round. */
export function pairedRatio(a: Measurement, b: Measurement): number {
  const n = Math.min(a.rounds.length, b.rounds.length);
  const ratios = [];
  for (let i = 0; i < n; i++) ratios.push(a.rounds[i]!.rps / b.rounds[i]!.rps);
  return median(ratios);
}
