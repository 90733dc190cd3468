import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";

// Every module of the package, imported on its own inside a test: one that
// throws while it loads (a bad constant at its top level) fails here, by
// name, instead of only breaking the files that import it before any test
// of theirs runs.
const modules = readdirSync(import.meta.dirname).filter((name) => name.endsWith(".ts") && !name.endsWith(".test.ts") && !name.endsWith(".d.ts"));

describe("the package's modules", () => {
  it("are all here: index.ts and what it exports from", () => {
    expect(modules).toContain("index.ts");
    expect(modules.length).toBeGreaterThan(15);
  });

  it.each(modules)("%s loads", async (name) => {
    const loaded = (await import(`./${name.replace(/\.ts$/, ".js")}`)) as Record<string, unknown>;
    expect(Object.keys(loaded).length, name).toBeGreaterThan(0);
  });
});
