import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pinnedNode, type CorePlan } from "../cores.js";
import { countLogEvents, type LogCounts } from "./app-log.js";
import { isApp, type AppKind, type ChildMessage, type MemorySample, type ParentMessage, type ServerSpec } from "./protocol.js";

const BENCH_ENTRY = fileURLToPath(new URL("./entry.js", import.meta.url));
const APP_ENTRY = fileURLToPath(new URL("./app-entry.js", import.meta.url));
/** USER_HZ: the unit of utime/stime in /proc/<pid>/stat (100 on Linux). */
const CLOCK_TICKS = 100;
/** How often to read the process's RSS, in ms. */
const RSS_EVERY_MS = 250;

export interface SpawnOptions {
  cores: CorePlan;
  /** Write a V8 CPU profile of the server into this folder when it stops. */
  profileDir?: string;
}

/**
 * A server running in a child process pinned to the server core, with its
 * resident memory sampled from /proc through its whole life. Our apps run
 * as `npm start` runs them (app-entry.ts imports their dist/main.js; their
 * configuration is environment variables), the bench's own servers through
 * entry.ts. stdout, one JSON line per log event, goes to `spec.logFile` or
 * /dev/null.
 */
export class ChildServer {
  url = "";
  private readonly child: ChildProcess;
  private stderr = "";
  private rssTimer: NodeJS.Timeout | undefined;
  /** Largest RSS seen, in bytes. */
  maxRss = 0;

  private constructor(
    readonly label: string,
    readonly spec: ServerSpec,
    options: SpawnOptions,
  ) {
    const nodeArgs = ["--expose-gc"];
    if (options.profileDir) nodeArgs.push("--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${label}.cpuprofile`);
    const script = isApp(spec.kind) ? [APP_ENTRY, spec.kind] : [BENCH_ENTRY];
    const [command, args] = pinnedNode(options.cores, options.cores.serverCore, [...nodeArgs, ...script]);
    const stdout = openSync(spec.logFile ?? "/dev/null", "a");
    try {
      this.child = spawn(command, args, {
        stdio: ["ignore", stdout, "pipe", "ipc"],
        env: isApp(spec.kind) ? { ...cleanEnv(), ...appEnv(spec.kind, spec) } : { ...cleanEnv(), BENCH_SERVER: JSON.stringify(spec) },
      });
    } finally {
      closeSync(stdout);
    }
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.rssTimer = setInterval(() => this.sampleRss(), RSS_EVERY_MS);
    this.rssTimer.unref();
  }

  static async start(label: string, spec: ServerSpec, options: SpawnOptions): Promise<ChildServer> {
    const server = new ChildServer(label, spec, options);
    try {
      const ready = await server.next("ready", 30_000);
      server.url = ready.url;
    } catch (error) {
      await server.stop();
      // what the process said on its way out is the diagnosis: a config line, a stack
      const said = server.stderr.trim();
      throw said === "" ? error : new Error(`${(error as Error).message}; its stderr: ${said.slice(-1000)}`);
    }
    server.sampleRss();
    return server;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The last lines the server wrote to stderr, for error reports. */
  get errorOutput(): string {
    return this.stderr.trim();
  }

  /** The log events of its log file so far (only for a server started with `logFile`). */
  logCounts(): LogCounts {
    if (!this.spec.logFile) throw new Error(`${this.label} was started without a log file`);
    return countLogEvents(readFileSync(this.spec.logFile, "utf8"));
  }

  /** RSS and heap, after a full GC when `gc` (to see what is really retained). */
  async memory(gc: boolean): Promise<MemorySample> {
    this.send({ type: "memory", gc });
    return (await this.next("memory", 10_000)).memory;
  }

  /** SIGTERM, as a deployment stops a service; SIGKILL if it has not exited 8 s later. */
  async stop(): Promise<void> {
    clearInterval(this.rssTimer);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 8000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * CPU time the process has used so far (all its threads: main, libuv pool,
   * GC), in ms. Per request it is a cost that contention on a shared machine
   * barely moves, unlike throughput.
   */
  cpuMs(): number {
    const pid = this.child.pid;
    if (pid === undefined) return Number.NaN;
    try {
      // fields after the parenthesised command: state is [0], utime [11], stime [12]
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
    } catch {
      return Number.NaN;
    }
  }

  private sampleRss(): void {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null) return;
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
      if (Number.isFinite(kb)) {
        this.maxRss = Math.max(this.maxRss, kb * 1024);
      }
    } catch {
      // the process has just exited, or there is no /proc: no sample
    }
  }

  private send(message: ParentMessage): void {
    this.child.send(message);
  }

  private next<T extends ChildMessage["type"]>(type: T, timeoutMs: number): Promise<Extract<ChildMessage, { type: T }>> {
    return new Promise((resolve, reject) => {
      const cleanup = () => {
        clearTimeout(timer);
        this.child.off("message", onMessage);
        this.child.off("exit", onExit);
      };
      const onMessage = (message: ChildMessage) => {
        if (message.type === "failed") {
          cleanup();
          reject(new Error(`${this.label} failed to start: ${message.error}`));
        } else if (message.type === type) {
          cleanup();
          resolve(message as Extract<ChildMessage, { type: T }>);
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        cleanup();
        reject(new Error(`${this.label} exited (${signal ?? code}) while waiting for "${type}"\n${this.errorOutput}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.label} did not answer "${type}" within ${timeoutMs} ms\n${this.errorOutput}`));
      }, timeoutMs);
      this.child.on("message", onMessage);
      this.child.once("exit", onExit);
    });
  }
}

type Env = Record<string, string>;

/**
 * The environment each of our apps gets, as an operator would set it for
 * `npm start` (see each app's src/config.ts): everything else defaults, as
 * in development (the built-in registry, a generated key under DATA_DIR).
 */
export function appEnv(kind: AppKind, spec: Omit<ServerSpec, "kind">): Env {
  if (spec.port === undefined) throw new Error(`bench: ${kind} needs its port chosen in advance`);
  const common: Env = {
    HOST: "127.0.0.1",
    PORT: String(spec.port),
    DATA_DIR: spec.dataDir,
    LOG_LEVEL: spec.logLevel ?? "info",
    ...(spec.traces === undefined ? {} : { OTEL_EXPORTER_OTLP_ENDPOINT: spec.traces }),
  };
  return { ...ownEnv(kind, spec, common), ...spec.env };
}

function ownEnv(kind: AppKind, spec: Omit<ServerSpec, "kind">, common: Env): Env {
  switch (kind) {
    case "auth-server":
      return {
        ...common,
        ISSUER: `http://127.0.0.1:${spec.port}`,
        ACCESS_TOKEN_TTL: String(spec.tokenTtl ?? 300),
        SIGNING_ALG: spec.alg ?? "RS256",
        ...(spec.dpopNonceRequired === undefined ? {} : { DPOP_NONCE_REQUIRED: String(spec.dpopNonceRequired) }),
      };
    case "payment-service":
      return {
        ...common,
        AUTH_SERVER_URL: required(spec.issuer, "issuer"),
        // as a deployment taking DPoP sets it: the origin clients call, which every proof's htu must name
        ...(spec.dpopMode === undefined ? {} : { DPOP_MODE: spec.dpopMode, PUBLIC_URL: `http://127.0.0.1:${spec.port}` }),
      };
    case "order-service":
      return { ...common, AUTH_SERVER_URL: required(spec.issuer, "issuer"), PAYMENT_SERVICE_URL: required(spec.paymentUrl, "paymentUrl") };
  }
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new Error(`bench: server spec needs ${name}`);
  return value;
}

/** Variables our apps read (their src/config.ts, and `<NAME>_FILE` for secrets): a server's configuration comes from its spec, never from the shell. */
const APP_VARIABLES =
  /^(NODE_ENV|NODE_OPTIONS|LOG_LEVEL|PORT|HOST|DATA_DIR|ISSUER|AUDIENCE|AUTH_SERVER_URL|PAYMENT_SERVICE_URL|PAYMENT_AUDIENCE|PAYMENT_RESOURCE|PAYMENT_SCOPE|ACCESS_TOKEN_TTL|SIGNING_ALG|SIGNING_KEYS|KEY_[A-Z_]+|CLIENTS|CLIENTS_FILE|CLIENT_[A-Z_]+|CHARGE_LIMIT|SETTLE_WAIT_MS|RETRY_MAX_DELAY_MS|DATABASE_URL|REDIS_URL|OTEL_[A-Z_]+|DPOP_[A-Z_]+|PUBLIC_URL|TRUST_PROXY)$/;

function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (APP_VARIABLES.test(name) || name.startsWith("npm_")) delete env[name];
  return env;
}
