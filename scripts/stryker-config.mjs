// What the three mutation targets' stryker.config.mjs have in common (npm run
// test:mutation, scripts/mutation.mjs): StrykerJS with the vitest runner,
// per-test coverage, two workers, and reports and incremental results under
// reports/mutation/<name>/. Each package's config says what it mutates.

/**
 * @param {{ name: string, mutate: string[], timeoutMS?: number, thresholds: { high: number, low: number } }} target
 * @returns {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export function strykerConfig({ name, mutate, timeoutMS = 20_000, thresholds }) {
  // the config runs in packages/<name>; the sandbox is packages/<name>/.stryker-tmp/sandbox-*: Stryker rewrites tsconfig's "extends" for that depth
  const reports = `../../reports/mutation/${name}`;
  return {
    testRunner: "vitest",
    plugins: ["@stryker-mutator/vitest-runner"],
    vitest: { configFile: "vitest.config.ts" },
    mutate,
    coverageAnalysis: "perTest",
    concurrency: 2,
    timeoutMS,
    reporters: ["clear-text", "progress", "html", "json"],
    htmlReporter: { fileName: `${reports}/index.html` },
    jsonReporter: { fileName: `${reports}/mutation.json` },
    // reuse the results of mutants whose code and covering tests did not change since the last run (--force: all again)
    incremental: true,
    incrementalFile: `${reports}/incremental.json`,
    thresholds: { ...thresholds, break: null },
  };
}
