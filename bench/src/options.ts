/**
 * How long and how hard to run. `--quick` is the CI smoke mode: a few
 * seconds per scenario, targets reported but never enforced.
 */
export interface BenchOptions {
  quick: boolean;
  /** Seconds of load before measuring, thrown away (JIT, caches, SQLite pages). */
  warmupSeconds: number;
  /** Measured rounds per server; the compared servers take turns within a round. */
  rounds: number;
  /** Seconds per measured round: two halves of whole seconds (autocannon counts whole seconds), so even. */
  roundSeconds: number;
  /** Concurrent connections of the load generator. */
  connections: number;
  /** Seconds per micro-benchmark round (scenario 5). */
  cryptoSeconds: number;
  /** Scenario names to run (all when empty). */
  only: string[];
  /** Where RESULTS.md goes. */
  out: string;
  /** Write a V8 CPU profile of every server into this folder. */
  profileDir?: string;
  /** Exit non-zero when a target is missed (never in `--quick`). */
  strict: boolean;
  /** Also measure our auth-server with logging off, to show what logging costs. */
  whatIf: boolean;
}

export const SCENARIOS = ["crypto", "token", "charge", "stores", "e2e", "flood", "dpop-flood"] as const;

export function parseArgs(argv: readonly string[], defaultOut: string): BenchOptions {
  const quick = argv.includes("--quick");
  const options: BenchOptions = quick
    ? { quick, warmupSeconds: 1, rounds: 1, roundSeconds: 2, connections: 16, cryptoSeconds: 0.25, only: [], out: defaultOut, strict: false, whatIf: false }
    : { quick, warmupSeconds: 3, rounds: 6, roundSeconds: 4, connections: 32, cryptoSeconds: 0.5, only: [], out: defaultOut, strict: false, whatIf: false };
  for (const arg of argv) {
    const [name, value] = arg.split("=", 2) as [string, string | undefined];
    if (name === "--quick") continue;
    if (name === "--what-if") {
      options.whatIf = true;
      continue;
    }
    if (name === "--strict") {
      options.strict = !quick;
      continue;
    }
    if (value === undefined) throw new Error(`unknown argument ${arg} (see bench/README.md)`);
    switch (name) {
      case "--only":
        options.only = value.split(",").filter(Boolean);
        for (const s of options.only) {
          if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s} (one of ${SCENARIOS.join(", ")})`);
        }
        break;
      case "--rounds":
        options.rounds = positive(name, value);
        break;
      case "--seconds":
        options.roundSeconds = positive(name, value);
        if (options.roundSeconds % 2 !== 0) throw new Error(`--seconds expects an even number (a round is two halves of whole seconds), got ${value}`);
        break;
      case "--connections":
        options.connections = positive(name, value);
        break;
      case "--out":
        options.out = value;
        break;
      case "--profile":
        options.profileDir = value;
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  return options;
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} expects a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function wants(options: BenchOptions, scenario: (typeof SCENARIOS)[number]): boolean {
  return options.only.length === 0 || options.only.includes(scenario);
}
