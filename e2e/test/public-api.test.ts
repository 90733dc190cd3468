import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/stack.mjs";

/**
 * The packages' public APIs, as their `src/index.ts` (and `./express`) list
 * them. A package exporting something new, or dropping something, must say
 * so here: this is the list a user of the package reads.
 */
const PUBLIC_API: Record<string, string[]> = {
  "@m2m/dpop-proof": ["DPoPNonces", "NonceNeeded", "ProofCheckFailed", "checkProof", "hasDuplicateMemberNames", "normalizeHtu", "parseJsonObject"],
  "@m2m/token-issuer": [
    "ClientRegistry",
    "DEVELOPMENT_REGISTRY",
    "InvalidClientError",
    "InvalidDPoPProofError",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidTargetError",
    "KeyFileError",
    "MemoryFailureCounts",
    "MemoryTrustedCallers",
    "MemoryUsedIdentifiers",
    "OAuthError",
    "RegistryError",
    "ReplayQuotaError",
    "SIGNING_ALGORITHMS",
    "ServerError",
    "SigningKeys",
    "StoreUnavailableError",
    "TokenIssuer",
    "TooManyRequestsError",
    "UnsupportedGrantTypeError",
    "UseDPoPNonceError",
    "developmentRegistry",
    "generateSecret",
    "hashSecret",
    "isKeyFileName",
    "loadRegistryFile",
    "loadRegistryFileSync",
    "parseRegistry",
    "rotateKeyDirectory",
    "rotateKeys",
    "systemClock",
  ],
  "@m2m/token-issuer/express": ["oauthRouter"],
  "@m2m/store-kit": ["MigrationError", "databaseUrlFrom", "inTransaction", "migrate", "openPostgres", "openRedis", "redactUrl", "redisUrlFrom", "whenConnected"],
  "@m2m/store-kit/testing": ["freePort", "startPostgres", "startRedis", "storeServersMissing"],
  "@m2m/test-support": ["ath", "otherSpellings", "proofKey", "rawJws", "signProof"],
  "@m2m/token-verifier": [
    "BearerError",
    "BearerGuard",
    "DPOP_MODES",
    "InsufficientScopeError",
    "InvalidDPoPProofError",
    "InvalidRequestError",
    "InvalidTokenError",
    "TemporarilyUnavailableError",
    "UnauthorizedError",
    "UseDPoPNonceError",
    "createDPoPVerifier",
    "createVerifier",
  ],
  "@m2m/token-verifier/express": ["accessTokenClaims", "requireAccessToken", "requireScope"],
  "@m2m/token-client": [
    "AuthServerUnavailableError",
    "InvalidResponseError",
    "TokenClient",
    "TokenClientError",
    "TokenRequestError",
    "clientSecretBasic",
    "clientSecretPost",
    "generateDPoPKey",
    "importDPoPKey",
    "privateKeyJwt",
    "withBearerToken",
  ],
  "@m2m/service-kit": [
    "ConfigError",
    "EnvReader",
    "HttpError",
    "activeSpan",
    "closeServer",
    "createBaseApp",
    "createLogger",
    "createMetricsRegistry",
    "describeSpan",
    "endClientSpan",
    "finishApp",
    "fingerprint",
    "handleShutdown",
    "httpLimitsFrom",
    "inSpan",
    "invalidRequest",
    "jsonBody",
    "listen",
    "loadConfigOrExit",
    "logLevelFrom",
    "parseAmount",
    "parseCurrency",
    "parseIdempotencyKey",
    "parseIdentifier",
    "sendReply",
    "serverUrl",
    "silentLogger",
    "startClientSpan",
    "startOrExit",
    "startTelemetry",
    "telemetryFrom",
  ],
};

describe("the packages' public APIs", () => {
  it.each(Object.entries(PUBLIC_API))("%s exports exactly its documented API", async (specifier, names) => {
    const module = (await import(specifier)) as Record<string, unknown>;
    expect(Object.keys(module).sort()).toEqual([...names].sort());
  });
});

/** Every import specifier of a TypeScript or JavaScript source. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s+["']([^"']+)["']/g)) found.push(match[1]!);
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(match[1]!);
  return found;
}

function sourcesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (["node_modules", "dist", ".turbo", "data", "peers"].includes(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...sourcesUnder(path));
    else if (/\.(ts|mts|mjs|js)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(path);
  }
  return files;
}

const WORKSPACES = ["apps/auth-server", "apps/order-service", "apps/payment-service", "bench", "e2e"];
const APP_NAMES = ["auth-server", "order-service", "payment-service"];

describe("the apps, the bench and the tests use the packages only through their public entry points", () => {
  it.each(WORKSPACES)("%s imports no package internals, no other app, and nothing across workspaces by path", (workspace) => {
    const root = resolve(ROOT, workspace);
    if (!statSync(root, { throwIfNoEntry: false })) return;
    const offences: string[] = [];
    for (const file of sourcesUnder(root)) {
      for (const specifier of importsOf(readFileSync(file, "utf8"))) {
        const where = `${relative(ROOT, file)}: ${specifier}`;
        if (specifier.startsWith(".")) {
          const target = resolve(dirname(file), specifier);
          // e2e and the bench start servers with scripts/' helpers (free ports); everything else stays inside its own workspace
          const allowed = target.startsWith(root + sep) || ((workspace === "e2e" || workspace === "bench") && target.startsWith(resolve(ROOT, "scripts") + sep));
          if (!allowed) offences.push(`${where} (reaches outside ${workspace})`);
        } else if (specifier.startsWith("@m2m/")) {
          if (!(specifier in PUBLIC_API)) offences.push(`${where} (not a public entry point)`);
        } else if (APP_NAMES.includes(specifier.split("/")[0]!)) {
          offences.push(`${where} (an app exports nothing)`);
        }
      }
    }
    expect(offences).toEqual([]);
  });
});
