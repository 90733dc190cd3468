import { createHash } from "node:crypto";

/**
 * A non-reversible handle for a token in logs: `sha256:` and 12 hex digits of
 * its hash. Same format as `fingerprint()` of `@m2m/service-kit`, kept here so
 * this package does not depend on the apps' HTTP kit.
 */
export function fingerprint(token: string): string {
  return `sha256:${createHash("sha256").update(token).digest("hex").slice(0, 12)}`;
}
