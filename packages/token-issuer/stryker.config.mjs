// Mutation testing of the issuer's client authentication, policy and access
// token code (npm run test:mutation at the root). Only the tests that cover
// those files run against their mutants.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.config.ts" },
  mutate: ["src/client-auth.ts", "src/client-assertion.ts", "src/policy.ts", "src/access-token.ts"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  timeoutMS: 30_000,
  // the sandbox is packages/<name>/.stryker-tmp/sandbox-*: Stryker rewrites tsconfig's "extends" for that depth
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "../../reports/mutation/token-issuer/index.html" },
  jsonReporter: { fileName: "../../reports/mutation/token-issuer/mutation.json" },
  // reuse the results of mutants whose code and covering tests did not change since the last run (--force: all again)
  incremental: true,
  incrementalFile: "../../reports/mutation/token-issuer/incremental.json",
  thresholds: { high: 90, low: 85, break: null },
};
