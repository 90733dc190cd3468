import { configDefaults, defineConfig } from "vitest/config";

// Key generation (RSA) can take seconds on a loaded machine: slowness, not failure.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    // npm run test:mutation copies the package into .stryker-tmp/: those copies are not this package's tests
    exclude: [...configDefaults.exclude, "**/.stryker-tmp/**"],
  },
});
