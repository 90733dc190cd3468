import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Pool } from "./postgres.js";

/** A migration file: `NNN_what_it_does.sql`, applied once, in order of `NNN`. */
const FILE_NAME = /^(\d{3,})_[a-z0-9_]+\.sql$/;

/**
 * One advisory lock key for every app's migrations (`hashtext('m2m:migrations')`
 * would do as well; a constant reads better): apps that share one database
 * take turns, and so do instances of one app starting at once.
 */
const MIGRATION_LOCK = 0x6d326d_6d6967; // "m2m" "mig"

export class MigrationError extends Error {
  override name = "MigrationError";
}

/**
 * Brings `app`'s schema up to date with the SQL files in `dir`, safely when
 * several instances start at once:
 *
 * - a session advisory lock (`pg_advisory_lock`) makes every other migrator
 *   of this database wait until this one is done; the lock dies with the
 *   connection, so a migrator killed halfway blocks no one;
 * - `schema_migrations` records each applied version with a checksum of its
 *   file, so a version runs once, and a file edited after it ran is refused
 *   (write a new migration instead);
 * - each file runs in its own transaction with its record: it is applied
 *   whole or not at all.
 *
 * Returns the files it applied (none when the schema was already current).
 */
export async function migrate(pool: Pool, options: { app: string; dir: string }): Promise<string[]> {
  const files = await migrationFiles(options.dir);
  const client = await pool.connect().catch((error: Error) => {
    // the message names host and port at most, never the password
    throw new MigrationError(`${options.app}: cannot connect to the database (${error.message})`);
  });
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    try {
      await client.query(`
        CREATE TABLE IF NOT EXISTS schema_migrations (
          app        text        NOT NULL,
          version    integer     NOT NULL,
          name       text        NOT NULL,
          checksum   text        NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now(),
          PRIMARY KEY (app, version)
        )`);
      const { rows } = await client.query<{ version: number; name: string; checksum: string }>(
        "SELECT version, name, checksum FROM schema_migrations WHERE app = $1",
        [options.app],
      );
      const applied = new Map(rows.map((row) => [row.version, row]));
      const done: string[] = [];
      for (const file of files) {
        const known = applied.get(file.version);
        if (known !== undefined) {
          if (known.checksum !== file.checksum) {
            throw new MigrationError(`${options.app}: ${file.name} was changed after it was applied as ${known.name}; add a new migration instead`);
          }
          continue;
        }
        await client.query("BEGIN");
        try {
          await client.query(file.sql);
          await client.query("INSERT INTO schema_migrations (app, version, name, checksum) VALUES ($1, $2, $3, $4)", [
            options.app,
            file.version,
            file.name,
            file.checksum,
          ]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK").catch(() => undefined);
          throw new MigrationError(`${options.app}: ${file.name} failed: ${(error as Error).message}`);
        }
        done.push(file.name);
      }
      return done;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

interface MigrationFile {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

async function migrationFiles(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => FILE_NAME.test(name)).sort();
  const files = await Promise.all(
    names.map(async (name) => {
      const sql = await readFile(join(dir, name), "utf8");
      return { version: Number(FILE_NAME.exec(name)![1]), name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    }),
  );
  const versions = new Set(files.map((file) => file.version));
  if (versions.size !== files.length) throw new MigrationError(`two migration files in ${dir} share a version number`);
  return files;
}
