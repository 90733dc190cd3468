import { ConfigError, EnvReader } from "@m2m/service-kit";

type Env = Readonly<Record<string, string | undefined>>;

/**
 * `DATABASE_URL`, when set: a `postgres://` or `postgresql://` URL. The
 * value is never echoed in an error, since it usually holds a password.
 */
export function databaseUrlFrom(env: Env): string | undefined {
  return storeUrl(env, "DATABASE_URL", ["postgres:", "postgresql:"], "a postgres:// or postgresql:// URL");
}

/** `REDIS_URL`, when set: a `redis://` (or TLS `rediss://`) URL, never echoed in an error. */
export function redisUrlFrom(env: Env): string | undefined {
  return storeUrl(env, "REDIS_URL", ["redis:", "rediss:"], "a redis:// or rediss:// URL");
}

function storeUrl(env: Env, name: string, protocols: string[], expected: string): string | undefined {
  const value = new EnvReader(env).optionalString(name);
  if (value === undefined) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    protocol = undefined;
  }
  if (protocol === undefined || !protocols.includes(protocol)) {
    throw new ConfigError(`invalid ${name}: expected ${expected} (the value is not shown: it may hold a password)`);
  }
  return value;
}
