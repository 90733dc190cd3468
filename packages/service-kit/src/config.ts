import { readFileSync } from "node:fs";

/**
 * Thrown when the environment does not describe a valid configuration.
 * Its message is exactly one line that names the variable, so `main` can
 * print it and exit.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads typed values out of an environment once, at the edge of a process.
 * Libraries never read `process.env`; an app's `config.ts` uses this and
 * hands a typed object inward.
 */
export class EnvReader {
  constructor(private readonly env: Env) {}

  /** The raw value, or `undefined` when unset or empty. */
  raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === "" ? undefined : value;
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const min = range.min ?? Number.MIN_SAFE_INTEGER;
    const max = range.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^-?\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw invalid(name, `an integer from ${min} to ${max}`, value);
    }
    return Number(value);
  }

  positiveInt(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value !== undefined && !/^\d+$/.test(value)) throw invalid(name, "a positive integer", value);
    const n = this.int(name, fallback, { min: 1 });
    return n;
  }

  port(name: string, fallback: number): number {
    const value = this.raw(name);
    if (value !== undefined && (!/^\d+$/.test(value) || Number(value) > 65535)) {
      throw invalid(name, "a port number from 0 to 65535", value);
    }
    return value === undefined ? fallback : Number(value);
  }

  /** An absolute http(s) URL, returned without a trailing slash. */
  url(name: string, fallback: string): string {
    const value = this.raw(name) ?? fallback;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw invalid(name, "an absolute http(s) URL", value);
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw invalid(name, "an absolute http(s) URL", value);
    }
    return value.replace(/\/+$/, "");
  }

  /** `true` or `false`, exactly: a typo must not silently mean either. */
  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (value !== "true" && value !== "false") throw invalid(name, "true or false", value);
    return value === "true";
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(value)) {
      throw invalid(name, `one of ${allowed.join(", ")}`, value);
    }
    return value as T;
  }

  /**
   * A secret given either inline (`NAME`) or as a file (`NAME_FILE`, as
   * Docker and Compose secrets are mounted). Never echoes the value back in
   * an error.
   */
  secret(name: string, fallback?: string): string | undefined {
    const inline = this.raw(name);
    const file = this.raw(`${name}_FILE`);
    if (inline !== undefined && file !== undefined) {
      throw new ConfigError(`invalid ${name}: set either ${name} or ${name}_FILE, not both`);
    }
    if (file !== undefined) {
      let content: string;
      try {
        content = readFileSync(file, "utf8");
      } catch {
        throw new ConfigError(`invalid ${name}_FILE: cannot read ${JSON.stringify(file)}`);
      }
      const trimmed = content.replace(/\r?\n$/, "");
      if (trimmed === "") throw new ConfigError(`invalid ${name}_FILE: ${JSON.stringify(file)} is empty`);
      return trimmed;
    }
    return inline ?? fallback;
  }
}

function invalid(name: string, expected: string, got: string): ConfigError {
  const shown = got.length > 80 ? `${got.slice(0, 77)}...` : got;
  return new ConfigError(`invalid ${name}: expected ${expected}, got ${JSON.stringify(shown)}`);
}

/**
 * Runs an app's config loader; on a {@link ConfigError} prints its one line to
 * stderr and ends the process with exit code 1 (no stack trace).
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    return exitOnConfigError(error);
  }
}

/**
 * The same for an app's asynchronous start: a problem of the environment
 * found while starting (a port in use, an unusable key file) is one line and
 * exit code 1, not a stack trace.
 */
export async function startOrExit<T>(start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    return exitOnConfigError(error);
  }
}

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
