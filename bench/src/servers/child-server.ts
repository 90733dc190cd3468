import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { pinnedNode, type CorePlan } from "../cores.js";
import type { ChildMessage, MemorySample, ParentMessage, ServerSpec, ServerStats } from "./protocol.js";

const ENTRY = fileURLToPath(new URL("./entry.js", import.meta.url));
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
 * resident memory sampled from /proc through its whole life.
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
    const [command, args] = pinnedNode(options.cores, options.cores.serverCore, [...nodeArgs, ENTRY]);
    this.child = spawn(command, args, {
      stdio: ["ignore", "ignore", "pipe", "ipc"],
      env: { ...serverEnv(), BENCH_SERVER: JSON.stringify(spec) },
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    this.rssTimer = setInterval(() => this.sampleRss(), RSS_EVERY_MS);
    this.rssTimer.unref();
  }

  static async start(label: string, spec: ServerSpec, options: SpawnOptions): Promise<ChildServer> {
    const server = new ChildServer(label, spec, options);
    const ready = await server.next("ready", 30_000);
    server.url = ready.url;
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

  async stats(): Promise<ServerStats> {
    this.send({ type: "stats" });
    return (await this.next("stats", 5000)).stats;
  }

  /** RSS and heap, after a full GC when `gc` (to see what is really retained). */
  async memory(gc: boolean): Promise<MemorySample> {
    this.send({ type: "memory", gc });
    return (await this.next("memory", 10_000)).memory;
  }

  async stop(): Promise<void> {
    clearInterval(this.rssTimer);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    if (this.child.connected) this.send({ type: "stop" });
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

/**
 * The parent's environment without what would change how an app starts:
 * each server gets its configuration from its spec, never from the shell.
 */
function serverEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["NODE_ENV", "PORT", "HOST", "ISSUER", "AUTH_SERVER_URL", "CLIENTS_FILE", "DATA_DIR", "NODE_OPTIONS"]) {
    delete env[name];
  }
  return env;
}
