import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, MigrationError, openPostgres, type Pool } from "./index.js";
import { startPostgres, storeServersMissing, type TestPostgres } from "./testing/index.js";

let server: TestPostgres;
const pools: Pool[] = [];
const pool = (url: string) => {
  const opened = openPostgres(url, { applicationName: "store-kit-test", max: 2 });
  pools.push(opened);
  return opened;
};

beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.dispose();
});

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "m2m-migrations-"));
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

describe.skipIf(storeServersMissing())("migrate", () => {
  it("applies each file once, in order, even when eight instances start at once", async () => {
    const url = await server.database("concurrent");
    // not idempotent on purpose: a second run of either file would fail
    const dir = migrationsDir({
      "001_counters.sql": "CREATE TABLE counters (name text PRIMARY KEY, n integer NOT NULL);",
      "002_seed.sql": "INSERT INTO counters VALUES ('runs', 1);",
    });
    const results = await Promise.all(Array.from({ length: 8 }, () => migrate(pool(url), { app: "demo", dir })));
    expect(results.flat().sort()).toEqual(["001_counters.sql", "002_seed.sql"]);
    const { rows } = await pool(url).query("SELECT n FROM counters");
    expect(rows).toEqual([{ n: 1 }]);
  });

  it("keeps apps apart in schema_migrations, and refuses a file changed after it ran", async () => {
    const url = await server.database("checksums");
    const db = pool(url);
    const dir = migrationsDir({ "001_a.sql": "CREATE TABLE a (id integer);" });
    expect(await migrate(db, { app: "one", dir })).toEqual(["001_a.sql"]);
    expect(await migrate(db, { app: "one", dir })).toEqual([]);
    writeFileSync(join(dir, "001_a.sql"), "CREATE TABLE a (id bigint);");
    await expect(migrate(db, { app: "one", dir })).rejects.toThrow(MigrationError);
    // another app's version 1 is its own
    const other = migrationsDir({ "001_b.sql": "CREATE TABLE b (id integer);" });
    expect(await migrate(db, { app: "two", dir: other })).toEqual(["001_b.sql"]);
  });

  it("rolls a failing file back whole and records nothing for it", async () => {
    const url = await server.database("failing");
    const db = pool(url);
    const dir = migrationsDir({ "001_half.sql": "CREATE TABLE half (id integer); SELECT 1/0;" });
    await expect(migrate(db, { app: "x", dir })).rejects.toThrow(/001_half\.sql failed/);
    const { rows } = await db.query("SELECT to_regclass('half') AS t, (SELECT count(*)::int FROM schema_migrations) AS n");
    expect(rows).toEqual([{ t: null, n: 0 }]);
  });
});
