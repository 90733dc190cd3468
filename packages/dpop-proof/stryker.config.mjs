// Mutation testing of the DPoP proof checks, the htu normalisation, the
// server nonces and the JOSE JSON scan (npm run test:mutation at the root).
// The package is published alone: only its own tests run against its mutants.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.config.ts" },
  // every module but the list of exports; tests are not mutated
  mutate: ["src/**/*.ts", "!src/index.ts", "!src/**/*.test.ts"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 20_000,
  // the sandbox is packages/<name>/.stryker-tmp/sandbox-*: Stryker rewrites tsconfig's "extends" for that depth
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "../../reports/mutation/dpop-proof/index.html" },
  jsonReporter: { fileName: "../../reports/mutation/dpop-proof/mutation.json" },
  // reuse the results of mutants whose code and covering tests did not change since the last run (--force: all again)
  incremental: true,
  incrementalFile: "../../reports/mutation/dpop-proof/incremental.json",
  thresholds: { high: 95, low: 90, break: null },
};
