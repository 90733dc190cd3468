/**
 * Real PostgreSQL and Redis servers for tests, started from Debian's
 * `postgresql` and `redis-server` packages on free loopback ports, with their
 * files in a fresh temporary folder, and stopped (folder removed) after.
 * No mock stands in for either: what the tests prove, they prove against the
 * servers a deployment runs.
 *
 * Missing binaries are an error that says how to install them; `.ci/run`
 * installs them before the tests. Without them, outside CI, the tests that
 * need them skip themselves ({@link storeServersMissing}).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

const INSTALL_HINT = "install them with: apt-get install -y postgresql redis-server (Debian, Ubuntu)";

/** A server started for a test. */
export interface TestServer {
  /** The URL to give an app (`DATABASE_URL`, `REDIS_URL`). */
  readonly url: string;
  readonly port: number;
  /** Stops it (its data is kept until {@link TestServer.dispose}). */
  stop(): Promise<void>;
  /** Starts it again on the same port, after {@link TestServer.stop}. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/** A PostgreSQL server: the URL names database `postgres`; {@link TestPostgres.database} makes more. */
export interface TestPostgres extends TestServer {
  /** Creates an empty database and returns its URL, so tests of one server stay apart. */
  database(name: string): Promise<string>;
}

// Below Linux's ephemeral range (32768–60999 by default), from which the OS
// picks both `listen(0)` ports and the local ports of outgoing connections: a
// port taken with `listen(0)` and released can be reused by a connection
// opened before the server binds it (EADDRINUSE under load). Ports here are
// never handed out that way, so only another listener can take one, and the
// probe sees it. The same rule as the repository's scripts/free-port.mjs.
const FIRST_PORT = 20000;
const PORT_COUNT = 12000;

/** A TCP port on 127.0.0.1 that nothing listens on now, below the ephemeral range, for a server about to start. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = FIRST_PORT + Math.floor(Math.random() * PORT_COUNT);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port on 127.0.0.1 in ${FIRST_PORT}–${FIRST_PORT + PORT_COUNT - 1} after 100 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

/**
 * Why the tests that need PostgreSQL and Redis cannot run on this machine, or
 * `undefined` when they can. Those tests skip themselves with it
 * (`describe.skipIf(storeServersMissing())`), so a clone with nothing but
 * Node.js still runs the rest of the suite, the embedded stores' included;
 * the reason is printed once. With `REQUIRE_STORE_SERVERS=1` (`.ci/run` sets
 * it) nothing is skipped: a missing server fails every test that needs it.
 */
export function storeServersMissing(): string | undefined {
  if (process.env.REQUIRE_STORE_SERVERS === "1") return undefined;
  try {
    postgresBin();
    redisBin();
    return undefined;
  } catch (error) {
    const reason = `shared-store tests skipped: ${(error as Error).message}`;
    if (!warned) console.warn(reason);
    warned = true;
    return reason;
  }
}
let warned = false;

/** The newest PostgreSQL server binaries Debian installed (`/usr/lib/postgresql/<major>/bin`). */
function postgresBin(): string {
  const root = "/usr/lib/postgresql";
  const majors = existsSync(root) ? readdirSync(root).filter((name) => /^\d+$/.test(name)).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = majors.map((major) => join(root, major, "bin")).find((dir) => existsSync(join(dir, "postgres")));
  if (bin === undefined) throw new Error(`no PostgreSQL server under ${root}/*/bin: ${INSTALL_HINT}`);
  return bin;
}

function redisBin(): string {
  const found = spawnSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).stdout.trim();
  if (found === "") throw new Error(`no redis-server on PATH: ${INSTALL_HINT}`);
  return found;
}

/** PostgreSQL refuses to run as root: as root, run it as the `postgres` user the package created. */
function postgresUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`running as root and no postgres user to run PostgreSQL as: ${INSTALL_HINT}`);
  return { uid, gid: id("-g") };
}

/** Stops `child` with SIGTERM (SIGKILL after `graceMs`) and waits for it to exit. */
async function stopChild(child: ChildProcess | undefined, graceMs = 10_000): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Children still running when the test process exits are killed, so no server outlives its tests. */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

async function until(what: string, check: () => Promise<boolean>, child: ChildProcess, output: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited (code ${child.exitCode}):\n${output.join("")}`);
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms:\n${output.join("")}`);
}

/**
 * Starts PostgreSQL: `initdb` into a temporary folder (trust authentication
 * on loopback, no fsync: a test database need not survive a power cut), then
 * `postgres` on a free port, its Unix socket in that folder too.
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  const user = postgresUser();
  const dir = mkdtempSync(join(tmpdir(), "m2m-pg-"));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, "data");
  const init = spawnSync(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"], {
    encoding: "utf8",
    ...(user ?? {}),
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed:\n${init.stdout}${init.stderr}`);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const output: string[] = [];
    child = track(
      spawn(
        join(bin, "postgres"),
        ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=300"],
        { stdio: ["ignore", "pipe", "pipe"], ...(user ?? {}) },
      ),
    );
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    await until("postgres", () => canQuery(url), child, output);
  };
  await start();
  return {
    url,
    port,
    start,
    stop: () => stopChild(child),
    async dispose() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async database(name) {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
  };
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts `redis-server` on a free loopback port, with no persistence (`--save ''`, no AOF). */
export async function startRedis(): Promise<TestServer> {
  const bin = redisBin();
  const dir = mkdtempSync(join(tmpdir(), "m2m-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const output: string[] = [];
    child = track(
      spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"], {
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    child.stdout!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr!.on("data", (chunk: Buffer) => output.push(chunk.toString()));
    await until("redis-server", () => redisAnswers(port), child, output);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: () => stopChild(child),
    async dispose() {
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** PING over a raw socket: no client library state to clean up between tries. */
async function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
    socket.write("PING\r\n");
  });
}
