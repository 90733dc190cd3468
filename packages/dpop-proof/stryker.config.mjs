// Mutation testing of the DPoP proof checks, the htu normalisation, the
// server nonces and the JOSE JSON scan (npm run test:mutation at the root).
// The package is published alone: only its own tests run against its mutants.
import { strykerConfig } from "../../scripts/stryker-config.mjs";

export default strykerConfig({
  name: "dpop-proof",
  // every module but the list of exports; tests and their support are not mutated
  mutate: ["src/**/*.ts", "!src/index.ts", "!src/**/*.test.ts", "!src/testing/**"],
  thresholds: { high: 95, low: 90 },
});
