/**
 * The bench's peers: the competitors it measures ours against
 * (oidc-provider, express-oauth2-jwt-bearer) and its load generator
 * (autocannon). No app, package or test needs them, so the workspace's
 * `npm ci` does not install them: they have a package.json and lock file of
 * their own in `bench/peers/`, installed with `npm ci --prefix bench/peers`
 * into `bench/peers/node_modules` (ignored by git) the first time the bench
 * runs, or by `npm run peers -w bench`. They are loaded from there by path,
 * never through the workspace's resolution, so their types are the bench's
 * own declarations (`src/types/`) or `@types/*` packages, and the bench
 * type-checks without them.
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** `bench/peers`, from `bench/dist/peers.js` (or `bench/src/peers.ts` under vitest). */
export const PEERS_DIR = fileURLToPath(new URL("../peers/", import.meta.url));
const LOCK = join(PEERS_DIR, "package-lock.json");

export type PeerName = "autocannon" | "express-oauth2-jwt-bearer" | "oidc-provider";

/**
 * True when `bench/peers/node_modules` holds every package of the lock file
 * at its locked version (an optional one may be absent), however it was
 * installed (`npm run bench` or `npm run peers -w bench`).
 */
export function peersInstalled(): boolean {
  const lock = JSON.parse(readFileSync(LOCK, "utf8")) as { packages: Record<string, { version?: string; optional?: boolean }> };
  return Object.entries(lock.packages).every(([path, locked]) => {
    if (path === "") return true;
    try {
      const installed = JSON.parse(readFileSync(join(PEERS_DIR, path, "package.json"), "utf8")) as { version?: string };
      return installed.version === locked.version;
    } catch {
      return locked.optional === true;
    }
  });
}

/**
 * Installs the peers from their lock file unless they already are:
 * `npm ci --prefix bench/peers`, reproducible, from the npm registry only.
 * Throws with npm's own output when the install fails.
 */
export function ensurePeers(log: (line: string) => void): void {
  if (peersInstalled()) return;
  log(`bench: installing the bench's peers (oidc-provider, express-oauth2-jwt-bearer, autocannon) into ${PEERS_DIR}node_modules from their lock file`);
  const [command, args] = npmCommand(["ci", "--prefix", PEERS_DIR, "--no-audit", "--no-fund", "--loglevel=error"]);
  const result = spawnSync(command, args, { stdio: ["ignore", "inherit", "inherit"], env: npmEnv() });
  if (result.status !== 0) {
    throw new Error(`npm ci --prefix ${PEERS_DIR} failed (${result.error?.message ?? `exit ${result.status ?? result.signal}`})`);
  }
  if (!peersInstalled()) throw new Error(`npm ci --prefix ${PEERS_DIR} did not install what its lock file says`);
}

/**
 * `import()`s a peer from `bench/peers/node_modules` (a CommonJS peer comes
 * back as `{ default: module.exports }`). `T` is the module's type as the
 * bench declares it.
 */
export async function loadPeer<T>(name: PeerName): Promise<T> {
  const resolve = createRequire(join(PEERS_DIR, "package.json")).resolve;
  let path: string;
  try {
    path = resolve(name);
  } catch {
    throw new Error(`${name} is not installed in ${PEERS_DIR}node_modules: run \`npm run peers -w bench\` (npm run bench does it on its first run)`);
  }
  return (await import(pathToFileURL(path).href)) as T;
}

/** The npm that runs us (`npm run bench`), else the one on the PATH. */
function npmCommand(args: string[]): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && /\.[cm]?js$/.test(execPath)) return [process.execPath, [execPath, ...args]];
  return ["npm", args];
}

/**
 * The environment without what `npm run` sets for the workspace it runs in
 * (`npm_config_workspace`, `npm_package_*`, ...): the peers' install is a
 * project of its own.
 */
function npmEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^npm_(config_(workspace|workspaces|include_workspace_root|prefix|global)|package_|lifecycle_)/i.test(name)) delete env[name];
  }
  return env;
}
