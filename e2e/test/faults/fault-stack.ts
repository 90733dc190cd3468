import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";
import { freePort, spawnApp, stackEnv, stopApp, waitUntilReady, type LogLine } from "../../../scripts/stack.mjs";

export type AppName = "auth-server" | "payment-service" | "order-service";
type RunningApp = ReturnType<typeof spawnApp>;
type Env = Record<string, string>;

/**
 * The three built apps as separate processes on fixed loopback ports, each
 * one started, killed and restarted on its own. Ports stay the same across
 * restarts (clients keep their configured URLs, as in production); data
 * folders stay the same unless a start names another one.
 */
export class FaultStack {
  /** Every JSON log line of every process this stack started, in arrival order. */
  readonly logs: LogLine[] = [];
  private readonly running: Partial<Record<AppName, RunningApp>> = {};

  private constructor(
    readonly ports: { auth: number; payment: number; order: number },
    readonly dataRoot: string,
    private readonly env: Partial<Record<AppName, Env>>,
  ) {}

  /** `env` is added to every start of that app (e.g. a faster retry schedule). */
  static async create(env: Partial<Record<AppName, Env>> = {}): Promise<FaultStack> {
    const ports = { auth: await freePort(), payment: await freePort(), order: await freePort() };
    return new FaultStack(ports, mkdtempSync(join(tmpdir(), "m2m-faults-")), env);
  }

  get urls() {
    return {
      auth: `http://127.0.0.1:${this.ports.auth}`,
      payment: `http://127.0.0.1:${this.ports.payment}`,
      order: `http://127.0.0.1:${this.ports.order}`,
    };
  }

  /** The app's default data folder in this stack. */
  dataDir(name: AppName): string {
    return join(this.dataRoot, name);
  }

  /** Starts (or restarts) one app and waits for its `/readyz`. */
  async start(name: AppName, options: { dataDir?: string; env?: Env } = {}): Promise<RunningApp> {
    if (this.isRunning(name)) throw new Error(`${name} is already running`);
    const env = stackEnv(this.ports, { auth: this.dataDir("auth-server"), payment: this.dataDir("payment-service"), order: this.dataDir("order-service") });
    const app = spawnApp(name, { ...env[name], ...(options.dataDir ? { DATA_DIR: options.dataDir } : {}), ...this.env[name], ...options.env }, (line) => this.logs.push(line));
    this.running[name] = app;
    await waitUntilReady(`${app.url}/readyz`, app, 30_000);
    return app;
  }

  /**
   * Starts the three: payment-service after auth-server (it is ready once it
   * holds the JWKS), order-service alongside (it is ready without the others).
   */
  async startAll(): Promise<void> {
    await Promise.all([this.start("auth-server").then(() => this.start("payment-service")), this.start("order-service")]);
  }

  /** SIGTERM (a clean stop) or SIGKILL (a crash) to the app's whole process group. */
  async stop(name: AppName, signal: NodeJS.Signals = "SIGTERM") {
    const app = this.running[name];
    if (!app) throw new Error(`${name} is not running`);
    const result = await stopApp(app, signal);
    delete this.running[name];
    return result;
  }

  isRunning(name: AppName): boolean {
    const app = this.running[name];
    return !!app && app.child.exitCode === null && app.child.signalCode === null;
  }

  /** Log lines of one service with one event name. */
  events(service: AppName, msg: string): LogLine[] {
    return this.logs.filter((line) => line.service === service && line.msg === msg);
  }

  /** Token requests the auth server answered for order-service (`token.issued`). */
  tokensIssuedToOrderService(): LogLine[] {
    return this.events("auth-server", "token.issued").filter((line) => line.client_id === "order-service");
  }

  /**
   * Waits until order-service has scheduled at least `count` retries of each
   * order (`order.retry_scheduled`): the worker kept them pending through
   * that many failed attempts rather than giving up on them.
   */
  async waitForRetries(ids: string[], count: number, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const retries = new Map<unknown, number>();
      for (const line of this.events("order-service", "order.retry_scheduled")) retries.set(line.order_id, (retries.get(line.order_id) ?? 0) + 1);
      const behind = ids.filter((id) => (retries.get(id) ?? 0) < count);
      if (behind.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${behind.length} of ${ids.length} orders were retried fewer than ${count} times within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Kills whatever still runs and removes the data folders. */
  async dispose(): Promise<void> {
    await Promise.all(Object.keys(this.running).map((name) => this.stop(name as AppName, "SIGKILL")));
    rmSync(this.dataRoot, { recursive: true, force: true });
  }
}

/**
 * The file's FaultStack: created (and, unless `startAll` is false, started)
 * before its tests, disposed after them. Returns a getter, since the stack
 * exists only once `beforeAll` has run.
 */
export function useFaultStack(env: Partial<Record<AppName, Env>>, { startAll = true } = {}): () => FaultStack {
  let stack: FaultStack | undefined;
  beforeAll(async () => {
    stack = await FaultStack.create(env);
    if (startAll) await stack.startAll();
  });
  afterAll(async () => {
    await stack?.dispose();
  });
  return () => {
    if (!stack) throw new Error("the fault stack is not created yet (use it inside a test)");
    return stack;
  };
}

export type { LogLine };
