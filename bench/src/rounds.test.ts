import { describe, expect, it } from "vitest";
import type { LoadGenerator } from "./load/load-generator.js";
import { parseArgs } from "./options.js";
import { combine, measure, type Target } from "./rounds.js";

describe("a round", () => {
  it("runs the targets in a rotated order, then mirrored, half the time each, and adds the halves up", async () => {
    const turns: string[] = [];
    let clock = 0; // CPU ms, advanced by each run: 1 ms per request
    const load = {
      run: async (job: { title: string; seconds: number }) => {
        turns.push(`${job.title}:${job.seconds}`);
        const total = job.title === "a" ? 100 : 50;
        clock += total;
        return { title: job.title, seconds: job.seconds, rps: total / job.seconds, p50: job.title === "a" ? 1 : 3, p99: 9, total, unexpected: 0, statuses: { 200: total }, errors: 0, timeouts: 0 };
      },
    } as unknown as LoadGenerator;
    const target = (name: string): Target => ({ name, processes: [{ cpuMs: () => clock }] as Target["processes"], job: async () => ({ title: name }) as never });
    const options = { ...parseArgs([], "x"), warmupSeconds: 1, rounds: 2, roundSeconds: 4 };
    const [a, b] = await measure(load, [target("a"), target("b")], options, () => {});
    expect(turns).toEqual(["a:1", "b:1", "a:2", "b:2", "b:2", "a:2", "b:2", "a:2", "a:2", "b:2"]);
    expect(a!.rounds[0]).toMatchObject({ seconds: 4, total: 200, rps: 50, p50: 1, statuses: { 200: 200 } });
    expect(b!.rounds[1]).toMatchObject({ seconds: 4, total: 100, rps: 25 });
    expect(a!.cpuPerRequest).toEqual([1000, 1000]);
  });

  it("weighs each half's latency by its requests", () => {
    const half = (total: number, p50: number) => ({ title: "t", seconds: 1, rps: total, p50, p99: p50 * 2, total, unexpected: 0, statuses: {}, errors: 0, timeouts: 0 });
    expect(combine([half(300, 1), half(100, 5)])).toMatchObject({ total: 400, rps: 200, p50: 2, p99: 4 });
  });
});
