#!/usr/bin/env node
// npm run test:mutation: StrykerJS (vitest runner) over token-verifier, then
// over token-issuer's client authentication, policy and access-token code,
// then over dpop-proof (each package's stryker.config.mjs says what). Writes Stryker's HTML and
// JSON reports under reports/mutation/<package>/, and reports/mutation/summary.md:
// the score of each target, the time it took, and every mutant that
// survived. Exits non-zero when a target is under its threshold.
//
//   npm run test:mutation                      every target
//   npm run test:mutation -- token-issuer      one
//   npm run test:mutation -- --force           every mutant again
//   npm run test:mutation -- token-verifier --force --mutate=src/guard.ts,src/express.ts
//                                              those files only; the summary then counts
//                                              only them, not results kept from earlier runs
//
// Runs are incremental (each package's stryker.config.mjs): a mutant whose
// code and covering tests did not change since the last run keeps its
// result (reports/mutation/<package>/incremental.json); --force tests all.
// The property tests run with a tenth of their runs here (PROPERTY_RUNS_SCALE):
// they run once per mutant.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(fileURLToPath(import.meta.url), "..", "..");
const TARGETS = [
  { name: "token-verifier", dir: "packages/token-verifier", threshold: 90 },
  { name: "token-issuer", dir: "packages/token-issuer", threshold: 85 },
  { name: "dpop-proof", dir: "packages/dpop-proof", threshold: 90 },
];
const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));
const strykerFlags = process.argv.slice(2).filter((arg) => arg.startsWith("--"));
// --mutate=a.ts,b.ts: Stryker's report still holds every file (kept from earlier runs); the score is of these alone
const mutated = strykerFlags.find((arg) => arg.startsWith("--mutate="))?.slice("--mutate=".length).split(",");
const targets = wanted.length === 0 ? TARGETS : TARGETS.filter((target) => wanted.includes(target.name));
if (targets.length === 0) {
  console.error(`unknown target: ${wanted.join(" ")} (known: ${TARGETS.map((t) => t.name).join(", ")})`);
  process.exit(2);
}

const results = [];
for (const target of targets) {
  const started = Date.now();
  console.log(`\n== mutation testing: ${target.name}`);
  const run = spawnSync("npx", ["stryker", "run", ...strykerFlags], {
    cwd: join(ROOT, target.dir),
    stdio: "inherit",
    env: { ...process.env, PROPERTY_RUNS_SCALE: process.env.PROPERTY_RUNS_SCALE ?? "0.1" },
  });
  const seconds = Math.round((Date.now() - started) / 1000);
  if (run.status !== 0) {
    console.error(`stryker failed for ${target.name} (exit ${run.status})`);
    process.exit(run.status ?? 1);
  }
  results.push({ ...target, seconds, ...summarize(JSON.parse(readFileSync(join(ROOT, "reports", "mutation", target.name, "mutation.json"), "utf8")), mutated) });
}

const date = new Date().toISOString().slice(0, 10);
const lines = [`# Mutation testing, ${date}${mutated ? `: ${mutated.join(", ")} only` : ""}`, "", "| target | score | killed | timed out | survived | no coverage | ignored | time |", "| --- | --- | --- | --- | --- | --- | --- | --- |"];
for (const r of results) {
  lines.push(`| ${r.name} | ${r.score.toFixed(2)} % (threshold ${r.threshold} %) | ${r.counts.Killed} | ${r.counts.Timeout} | ${r.counts.Survived} | ${r.counts.NoCoverage} | ${r.counts.Ignored} | ${formatTime(r.seconds)} |`);
}
for (const r of results) {
  lines.push("", `## ${r.name}: surviving mutants`, "");
  if (r.survivors.length === 0) lines.push("None.");
  for (const s of r.survivors) lines.push(`- ${s}`);
  if (r.ignored.length > 0) {
    lines.push("", `## ${r.name}: mutants marked equivalent (not counted), with the reason`, "");
    for (const s of r.ignored) lines.push(`- ${s}`);
  }
}
mkdirSync(join(ROOT, "reports", "mutation"), { recursive: true });
writeFileSync(join(ROOT, "reports", "mutation", "summary.md"), `${lines.join("\n")}\n`);
console.log(`\n${lines.slice(0, 3 + results.length + 1).join("\n")}\n\nSurviving mutants and the full reports: reports/mutation/summary.md, reports/mutation/<target>/index.html`);
const under = results.filter((r) => r.score < r.threshold);
if (under.length > 0) {
  console.error(`under threshold: ${under.map((r) => `${r.name} ${r.score.toFixed(2)} % < ${r.threshold} %`).join(", ")}`);
  process.exit(1);
}

/** Counts, score and survivors from a Stryker JSON report (mutation-testing-report-schema). */
function summarize(report, only) {
  const counts = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, Ignored: 0, CompileError: 0, RuntimeError: 0 };
  const survivors = [];
  const ignored = [];
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    if (only && !only.includes(file)) continue;
    const sourceLines = source.split("\n");
    for (const m of mutants) {
      counts[m.status] = (counts[m.status] ?? 0) + 1;
      const where = `${file}:${m.location.start.line}`;
      const code = sourceLines[m.location.start.line - 1].trim().slice(0, 100);
      if (m.status === "Survived" || m.status === "NoCoverage") {
        survivors.push(`\`${where}\` ${m.mutatorName}${m.status === "NoCoverage" ? " (no test reaches it)" : ""}: \`${oneLine(m.replacement)}\` in \`${code}\``);
      } else if (m.status === "Ignored") {
        ignored.push(`\`${where}\` ${m.mutatorName}: ${m.statusReason ?? "ignored"}`);
      }
    }
  }
  const detected = counts.Killed + counts.Timeout;
  const valid = detected + counts.Survived + counts.NoCoverage;
  return { counts, score: valid === 0 ? 100 : (100 * detected) / valid, survivors, ignored };
}

function oneLine(text) {
  const flat = String(text ?? "").replace(/\s+/g, " ");
  return flat.length > 80 ? `${flat.slice(0, 77)}...` : flat;
}

function formatTime(seconds) {
  return seconds < 60 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}
