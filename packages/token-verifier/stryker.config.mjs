// Mutation testing of the whole verifier (npm run test:mutation at the root).
import { strykerConfig } from "../../scripts/stryker-config.mjs";

export default strykerConfig({
  name: "token-verifier",
  // every module but the list of exports; tests and their support are not mutated
  mutate: ["src/**/*.ts", "!src/index.ts", "!src/**/*.test.ts", "!src/testing/**"],
  thresholds: { high: 95, low: 90 },
});
