/**
 * `npm run bench [-- --quick] [--only=token,charge] [--rounds=N] [--seconds=N]
 * [--connections=N] [--profile=DIR] [--strict] [--out=FILE]`
 *
 * Installs the bench's peers on first run (src/peers.ts), runs the
 * scenarios, writes RESULTS.md, prints the targets. Exits non-zero when
 * something is broken (a scenario cannot run, a server answers with a wrong
 * status); a missed target fails only with `--strict`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { storeServersMissing } from "@m2m/store-kit/testing";
import { BenchContext } from "./context.js";
import { planCores } from "./cores.js";
import { LoadGenerator } from "./load/load-generator.js";
import { describeMachine } from "./machine.js";
import { parseArgs, wants, type BenchOptions } from "./options.js";
import { ensurePeers } from "./peers.js";
import { renderMarkdown } from "./report/markdown.js";
import { checkTargets, type BenchResults } from "./report/targets.js";
import { runCharge } from "./scenarios/charge.js";
import { runCrypto } from "./scenarios/crypto.js";
import { runE2e } from "./scenarios/e2e.js";
import { runDPoPFlood } from "./scenarios/dpop-flood.js";
import { runFlood } from "./scenarios/flood.js";
import { runStores } from "./scenarios/stores.js";
import { runToken } from "./scenarios/token.js";

const benchDir = fileURLToPath(new URL("..", import.meta.url));

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseArgs(process.argv.slice(2), resolve(benchDir, "RESULTS.md"));
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  // a smoke run must not overwrite the measured results in the tree
  if (options.quick && !process.argv.some((a) => a.startsWith("--out="))) options.out = resolve(benchDir, "RESULTS.quick.md");
  if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });

  const started = Date.now();
  const log = (line: string) => console.log(line);
  try {
    ensurePeers(log);
  } catch (error) {
    console.error(`bench: ${(error as Error).message}`);
    return 1;
  }
  const cores = planCores();
  const machine = describeMachine(cores);
  log(`bench: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}; ${machine.pinning}`);

  const load = LoadGenerator.start(cores);
  const ctx = new BenchContext(options, cores, load, log);
  const results: BenchResults = { servers: ctx.started, errors: [] };
  const failures: string[] = [];
  const stopOnSignal = () => void ctx.close().finally(() => process.exit(130));
  process.once("SIGINT", stopOnSignal);
  process.once("SIGTERM", stopOnSignal);

  const scenario = async (name: Parameters<typeof wants>[1], title: string, run: () => Promise<void>) => {
    if (!wants(options, name)) return;
    log(`\n${title}`);
    const t0 = Date.now();
    try {
      await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      failures.push(`${name}: could not run: ${message}`);
      log(`  FAILED: ${message}`);
    }
    log(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  };

  try {
    await scenario("crypto", "5. sign/verify per second on one core", async () => {
      results.crypto = await runCrypto(cores, options);
      for (const c of results.crypto) {
        log(
          `  ${c.alg} per CPU-second: jose whole token ${c.joseSign.toFixed(0)}, verify ${c.joseVerify.toFixed(0)}; ` +
            `node:crypto sign ${c.nodeSign.toFixed(0)}, verify ${c.nodeVerify.toFixed(0)}, whole token ${c.nodeToken.toFixed(0)}`,
        );
      }
    });
    await scenario("token", "1 + 4a. POST /token: ours vs oidc-provider", async () => {
      results.token = await runToken(ctx);
      for (const m of results.token.measurements) failures.push(...m.failureDetail);
    });
    await scenario("charge", "2 + 4b. POST /charge: our guard vs no auth vs express-oauth2-jwt-bearer, and the real payment-service", async () => {
      results.charge = await runCharge(ctx);
      for (const m of results.charge.measurements) failures.push(...m.failureDetail);
    });
    await scenario("stores", "shared stores: /token and /charge on PostgreSQL and Redis vs embedded, and two instances vs one", async () => {
      // on a machine without Debian's postgresql and redis-server, not run (its targets say so), as in npm test
      const missing = storeServersMissing();
      if (missing !== undefined) return log(`  not run: ${missing}`);
      results.stores = await runStores(ctx);
      for (const m of results.stores.measurements) failures.push(...m.failureDetail);
    });
    await scenario("e2e", "3. POST /orders end to end", async () => {
      results.e2e = await runE2e(ctx);
      failures.push(...results.e2e.measurement.failureDetail);
      if (results.e2e.failed > 0) failures.push(`e2e: ${results.e2e.failed} orders ended payment_failed`);
      if (results.e2e.paid + results.e2e.pending !== results.e2e.answered) {
        failures.push(`e2e: ${results.e2e.answered - results.e2e.paid - results.e2e.pending} orders answered neither paid nor pending`);
      }
      log(`  token requests during the run: ${results.e2e.tokenRequests}; issued: ${JSON.stringify(results.e2e.tokensIssued)}`);
    });
    await scenario("flood", "memory: a flood of distinct forged tokens at /charge", async () => {
      results.flood = await runFlood(ctx);
      for (const s of results.flood.segments) {
        if (s.unexpected > 0 || s.errors > 0) failures.push(`flood: ${s.unexpected} answers other than 401 ${JSON.stringify(s.statuses)}, ${s.errors} connection errors`);
      }
    });
    await scenario("dpop-flood", "memory: a flood of distinct valid DPoP proofs at /charge", async () => {
      results.dpopFlood = await runDPoPFlood(ctx);
      for (const part of [results.dpopFlood.app, results.dpopFlood.small]) {
        for (const s of part.segments) {
          if (s.unexpected > 0 || s.errors > 0) failures.push(`dpop-flood: ${part.server}: ${s.unexpected} answers other than 201 or 503 ${JSON.stringify(s.statuses)}, ${s.errors} connection errors`);
        }
      }
    });
  } finally {
    load.stop();
    await ctx.close();
  }

  writeFileSync(options.out, renderMarkdown(results, machine, options, failures));
  const checks = checkTargets(results);
  log(`\nTargets${options.quick ? " (smoke run: not judged)" : ""}:`);
  for (const c of checks) {
    const cpu = c.byCpu ? `; by CPU cost ${c.byCpu.verdict} ${c.byCpu.measured}` : "";
    log(`  ${c.verdict.padEnd(7)} ${c.target}: ${c.measured}${cpu}`);
  }
  log(`\nwrote ${options.out} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (failures.length > 0) {
    console.error(`\n${failures.length} breakage(s):`);
    for (const f of failures) console.error(`  - ${f}`);
    return 1;
  }
  // missed only when every judgment says so: one noisy measure alone does not fail a run
  const missed = (c: (typeof checks)[number]) => c.verdict === "FAIL" && (c.byCpu === undefined || c.byCpu.verdict === "FAIL");
  if (options.strict && checks.some(missed)) return 3;
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  },
);
