import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  // npm run test:mutation copies the package into .stryker-tmp/: those copies are not this package's tests
  test: { exclude: [...configDefaults.exclude, "**/.stryker-tmp/**"] },
});
