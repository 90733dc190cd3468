// Mutation testing of the issuer's client authentication, policy and access
// token code (npm run test:mutation at the root). Only the tests that cover
// those files run against their mutants.
import { strykerConfig } from "../../scripts/stryker-config.mjs";

export default strykerConfig({
  name: "token-issuer",
  mutate: ["src/client-auth.ts", "src/client-assertion.ts", "src/policy.ts", "src/access-token.ts"],
  timeoutMS: 30_000,
  thresholds: { high: 90, low: 85 },
});
