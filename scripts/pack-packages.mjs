// Packs the packages a service outside this repository installs (every
// workspace under packages/ that is not private) into tarballs, the files
// `npm publish` would upload, for `npm install ./m2m-token-verifier-0.1.0.tgz`.
//
//   npm run pack:packages            builds them, then packs them into packed/
//   node scripts/pack-packages.mjs DIR   packs the built packages into DIR
//
// e2e/test/packed-packages.test.ts installs what this makes in a project of
// its own, as a user would.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ROOT } from "./stack.mjs";

/**
 * @typedef {{
 *   name: string,
 *   version: string,
 *   private?: boolean,
 *   exports?: Record<string, unknown>,
 *   dependencies?: Record<string, string>,
 *   peerDependencies?: Record<string, string>,
 *   peerDependenciesMeta?: Record<string, { optional?: boolean }>,
 * }} Manifest
 * @typedef {{ name: string, version: string, tarball: string, files: string[] }} Packed
 */

/**
 * The workspaces under packages/ meant for other projects: those not marked
 * `private`, with their folder and manifest.
 * @returns {{ dir: string, manifest: Manifest }[]}
 */
export function publishedPackages() {
  return readdirSync(join(ROOT, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const dir = join("packages", entry.name);
      return { dir, manifest: /** @type {Manifest} */ (JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8"))) };
    })
    .filter(({ manifest }) => manifest.private !== true);
}

/**
 * `npm pack` of every published package into `destination`. They must be
 * built: `files` ships `dist/`.
 * @param {string} destination
 * @returns {Packed[]}
 */
export function packPackages(destination) {
  mkdirSync(destination, { recursive: true });
  const workspaces = publishedPackages().flatMap(({ dir }) => ["-w", dir]);
  const output = execFileSync("npm", ["pack", "--json", "--pack-destination", destination, ...workspaces], {
    cwd: ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  /** @type {{ name: string, version: string, filename: string, files: { path: string }[] }[]} */
  const packed = JSON.parse(output);
  return packed.map((entry) => ({
    name: entry.name,
    version: entry.version,
    tarball: join(destination, entry.filename),
    files: entry.files.map((file) => file.path),
  }));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const destination = resolve(process.argv[2] ?? "packed");
  for (const { tarball } of packPackages(destination)) console.log(tarball);
}
