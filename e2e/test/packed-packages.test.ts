import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packPackages, publishedPackages } from "../../scripts/pack-packages.mjs";
import { freePort, ROOT } from "../../scripts/stack.mjs";

// What a user of the packages does: pack them, install the tarballs into a
// project of their own outside this repository (no workspace, no link back
// here), next to plain express and axios from the registry, and run the
// README's issuer, resource server and client. The examples are the files
// in docs/examples/, copied as they are; the READMEs quote the same files
// (e2e/test/docs.test.ts holds the quotes to them).
//
// It needs the npm registry, as a user's install does.

const EXAMPLES = join(ROOT, "docs", "examples");
const EXAMPLE_FILES = readdirSync(EXAMPLES).filter((name) => name.endsWith(".mjs"));
const PUBLISHED = publishedPackages().map(({ manifest }) => manifest.name);

/** What the project installs beside the tarballs: the frameworks the README pairs them with, and types for the check. */
const FRAMEWORKS = ["express@^5.1.0", "axios@^1.12.0"];
const TYPES = ["@types/express@^5.0.3", "@types/node@^20.19.0"];

/** The environment of npm and of the examples: none of the variables npm sets for the script running this test. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("npm_") && name !== "NODE_ENV"));
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, timeoutMs: number, env = cleanEnv()): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(command, args, { cwd, env, timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      done({ code, stdout, stderr: stderr + (error !== null && typeof error.code !== "number" ? `\n${error.message}` : "") });
    });
  });
}

async function npmInstall(project: string, specs: string[]): Promise<void> {
  const result = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...specs], project, 180_000);
  if (result.code !== 0) {
    throw new Error(
      `npm install ${specs.join(" ")} failed in the scratch project (it needs the npm registry, as a user's install does):\n${result.stderr.slice(-3000)}`,
    );
  }
}

/** Every file under `dir`, symbolic links included and not followed. */
function entriesUnder(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    found.push(path);
    if (entry.isDirectory()) found.push(...entriesUnder(path));
  }
  return found;
}

/** The module specifiers a built JavaScript file imports, statically, dynamically or for its side effects. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*["']([^"']+)["']/g)) found.push(match[1]!);
  for (const match of source.matchAll(/(?:^|[\s;])import\s*["']([^"']+)["']/g)) found.push(match[1]!);
  for (const match of source.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g)) found.push(match[1]!);
  return found;
}

/** `@scope/name` or `name`, without a subpath. */
function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

const BUILTINS = new Set(builtinModules);

interface InstalledManifest {
  name: string;
  exports: Record<string, string | { types?: string; import?: string }>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/**
 * What is wrong with the imports of one installed package: a bare import
 * that is neither a Node.js builtin nor declared (a workspace that only
 * resolves inside the monorepo, a dependency hoisted there by chance), a
 * relative import that leaves the package, and an optional peer (the
 * framework) reached from the core entry point.
 */
function importProblems(packageDir: string): string[] {
  const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as InstalledManifest;
  const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.peerDependencies ?? {}), manifest.name]);
  const optionalPeers = new Set(Object.entries(manifest.peerDependenciesMeta ?? {}).flatMap(([name, meta]) => (meta.optional ? [name] : [])));
  const problems: string[] = [];

  /** The bare packages the module graph from `entry` reaches. */
  const reached = (entry: string): Set<string> => {
    const bare = new Set<string>();
    const seen = new Set<string>();
    const queue = [entry];
    while (queue.length > 0) {
      const file = queue.shift()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const specifier of importsOf(readFileSync(file, "utf8"))) {
        const where = `${manifest.name}/${relative(packageDir, file)}: "${specifier}"`;
        if (specifier.startsWith(".")) {
          const target = resolve(dirname(file), specifier);
          if (!target.startsWith(packageDir + sep)) problems.push(`${where} leaves the package`);
          else queue.push(target);
        } else if (specifier.startsWith("node:") || BUILTINS.has(specifier)) {
          continue;
        } else {
          const name = packageNameOf(specifier);
          bare.add(name);
          if (!declared.has(name)) problems.push(`${where} is not a dependency or peer dependency of ${manifest.name}`);
        }
      }
    }
    return bare;
  };

  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (subpath === "./package.json") continue;
    const file = typeof target === "string" ? target : target.import;
    if (file === undefined) {
      problems.push(`${manifest.name}: exports["${subpath}"] has no import condition`);
      continue;
    }
    const bare = reached(join(packageDir, file));
    if (subpath === ".") {
      for (const peer of optionalPeers) if (bare.has(peer)) problems.push(`${manifest.name}: its core entry point reaches the optional peer ${peer}`);
    }
  }
  return [...new Set(problems)];
}

interface Server {
  child: ChildProcess;
  lines: string[];
}

/** Starts one example with `node`, resolving once it says it listens. */
function startExample(file: string, cwd: string, env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, [file], { cwd, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  const server = { child, lines };
  servers.push(server);
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`${file} did not listen within 15 s:\n${lines.join("\n")}`)), 15_000);
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        if (/ listening on /.test(line)) {
          clearTimeout(timer);
          ready(server);
        }
      });
    }
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`${file} exited with ${code} before it listened:\n${lines.join("\n")}`));
    });
  });
}

const servers: Server[] = [];
let scratch: string;
let project: string;
let packed: ReturnType<typeof packPackages>;
/** What loading every core entry point printed, in the project before express was installed. */
let coreLoad: { code: number; stdout: string; stderr: string };

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "m2m-packed-"));
  packed = packPackages(join(scratch, "tarballs"));
  project = join(scratch, "project");
  mkdirSync(project);
  writeFileSync(join(project, "package.json"), `${JSON.stringify({ name: "a-service", private: true, type: "module" }, null, 2)}\n`);

  // First the tarballs alone: express is an optional peer, so not there yet.
  await npmInstall(project, packed.map((entry) => entry.tarball));
  const cores = PUBLISHED.map((name) => `await import(${JSON.stringify(name)});`).join(" ");
  coreLoad = await run(process.execPath, ["--input-type=module", "-e", `${cores} console.log("loaded")`], project, 30_000);

  // Then what the README pairs them with.
  await npmInstall(project, [...FRAMEWORKS, ...TYPES]);
  for (const file of EXAMPLE_FILES) copyFileSync(join(EXAMPLES, file), join(project, file));
}, 420_000);

afterAll(async () => {
  for (const { child } of servers) child.kill();
  await Promise.all(servers.map(({ child }) => (child.exitCode === null && child.signalCode === null ? new Promise((done) => child.once("exit", done)) : undefined)));
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

describe("the packages, packed and installed in a project outside this repository", () => {
  it("packs every package that is not private, and only what a user runs and reads: no test, no test support, no test vectors", () => {
    expect(packed.map((entry) => entry.name).sort()).toEqual([...PUBLISHED].sort());
    expect(PUBLISHED).toEqual(expect.arrayContaining(["@m2m/token-issuer", "@m2m/token-client", "@m2m/token-verifier", "@m2m/dpop-proof"]));
    for (const { name, files } of packed) {
      expect(files, name).toEqual(expect.arrayContaining(["package.json", "README.md", "CHANGELOG.md", "dist/index.js", "dist/index.d.ts", "src/index.ts"]));
      const stray = files.filter((file) => !/^(package\.json|README\.md|CHANGELOG\.md|(dist|src)\/.+)$/.test(file) || /\.test\.|(^|\/)(testing|vectors)\//.test(file));
      expect(stray, name).toEqual([]);
    }
  });

  it("installs from the tarballs alone: nothing in node_modules is a link into this repository", () => {
    const root = realpathSync(ROOT);
    const links = entriesUnder(join(project, "node_modules")).filter((path) => lstatSync(path).isSymbolicLink());
    const intoRepository = links.filter((path) => {
      const target = realpathSync(path);
      return target === root || target.startsWith(root + sep);
    });
    expect(intoRepository).toEqual([]);
    for (const name of PUBLISHED) expect(lstatSync(join(project, "node_modules", name)).isDirectory(), name).toBe(true);
  });

  it("declares every package its built code imports, and keeps the optional framework out of each core entry point", () => {
    const problems = PUBLISHED.flatMap((name) => importProblems(join(project, "node_modules", name)));
    expect(problems).toEqual([]);
  });

  it("loads every core entry point in a project that has no express", () => {
    expect(coreLoad.stderr).toBe("");
    expect(coreLoad.stdout.trim()).toBe("loaded");
  });

  it("type-checks the README's examples against the installed declarations (ESM, types through exports)", async () => {
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", allowJs: true, checkJs: true, noEmit: true, types: ["node"] },
        include: ["*.mjs"],
      }),
    );
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", project], project, 120_000);
    expect(result.stdout + result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  it("runs the README's issuer, resource server and client: a token, Bearer or DPoP-bound, is issued, acquired, presented and verified; one without the scope is refused", async () => {
    const [authPort, paymentPort] = [await freePort(), await freePort()];
    const issuer = `http://127.0.0.1:${authPort}`;
    const payments = `http://127.0.0.1:${paymentPort}`;
    const auth = await startExample("issuer.mjs", project, { PORT: String(authPort) });
    const resource = await startExample("resource-server.mjs", project, { PORT: String(paymentPort), ISSUER: issuer });
    const client = (env: Record<string, string> = {}) =>
      run(process.execPath, ["client.mjs"], project, 30_000, cleanEnv({ ISSUER: issuer, PAYMENT_SERVICE_URL: payments, ...env }));

    const charged = await client();
    expect(charged.stderr).toBe("");
    expect(charged.code).toBe(0);
    expect(charged.stdout).toMatch(/^token\.fetched sha256:[0-9a-f]{12} 300 Bearer$/m);
    expect(charged.stdout).toContain(`charged 201 {"amount":1299,"currency":"EUR","charged_by":"order-service"}`);
    expect(auth.lines).toContain("token.issued order-service charge:customer Bearer");
    expect(resource.lines).toContain("token.verified order-service Bearer");

    // RFC 9449: a token bound to the client's key, and a proof of it with the charge (through @m2m/dpop-proof on both sides)
    const bound = await client({ DPOP: "true" });
    expect(bound.stderr).toBe("");
    expect(bound.code).toBe(0);
    expect(bound.stdout).toMatch(/^token\.fetched sha256:[0-9a-f]{12} 300 DPoP$/m);
    expect(bound.stdout).toContain(`charged 201 {"amount":1299,"currency":"EUR","charged_by":"order-service"}`);
    expect(auth.lines).toContain("token.issued order-service charge:customer DPoP");
    expect(resource.lines).toContain("token.verified order-service DPoP");

    // RFC 6750 §3.1: a valid token that lacks the scope is 403 insufficient_scope, the scope named in the challenge
    const refused = await client({ CLIENT_ID: "reporting-service", CLIENT_SECRET: "reporting-secret", SCOPE: "charge:read" });
    expect(refused.stderr).toBe("");
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(
      'refused 403 Bearer realm="payment-service", error="insufficient_scope", scope="charge:customer" {"error":"insufficient_scope",',
    );
    expect(auth.lines).toContain("token.issued reporting-service charge:read Bearer");
    expect(resource.lines).toContain("token.rejected 403 insufficient_scope");
  });
});
