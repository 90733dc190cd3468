// Mutation testing of the whole verifier (npm run test:mutation at the root).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.config.ts" },
  // dpop.ts (RFC 9449, added while this was first measured) is tested in payment-service and e2e, not by this
  // package's tests: mutating it here would only report that. Bringing it under mutation testing is open work.
  mutate: ["src/**/*.ts", "!src/index.ts", "!src/dpop.ts"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 20_000,
  // the sandbox is packages/<name>/.stryker-tmp/sandbox-*: Stryker rewrites tsconfig's "extends" for that depth
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "../../reports/mutation/token-verifier/index.html" },
  jsonReporter: { fileName: "../../reports/mutation/token-verifier/mutation.json" },
  // reuse the results of mutants whose code and covering tests did not change since the last run (--force: all again)
  incremental: true,
  incrementalFile: "../../reports/mutation/token-verifier/incremental.json",
  thresholds: { high: 95, low: 90, break: null },
};
