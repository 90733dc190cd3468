import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startPostgres, startRedis, type TestPostgres, type TestServer } from "@m2m/store-kit/testing";

export { storeServersMissing } from "@m2m/store-kit/testing";
import { freePort, spawnApp, stopApp, waitUntilReady, type LogLine } from "../../../scripts/stack.mjs";

export type AppName = "auth-server" | "payment-service" | "order-service";
export type Instance = ReturnType<typeof spawnApp> & { label: string };

/**
 * Several instances of the built apps as separate processes, on one real
 * PostgreSQL and one real Redis (Debian's binaries, started on loopback ports
 * for the test file): the deployment the shared-stores extension describes,
 * on one machine. Each instance has its own port and its own data folder,
 * so nothing is shared but what the stores share.
 */
export class Cluster {
  /** Every JSON log line of every instance, with `from`: the label of the instance that wrote it. */
  readonly logs: (LogLine & { from: string })[] = [];
  readonly instances: Instance[] = [];
  /** The key-encryption key every auth-server instance seals its keys with, as a file. */
  readonly keyEncryptionKeyFile: string;

  private constructor(
    readonly postgres: TestPostgres,
    readonly redis: TestServer,
    private readonly root: string,
  ) {
    this.keyEncryptionKeyFile = join(root, "key-encryption-key");
    writeFileSync(this.keyEncryptionKeyFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
  }

  static async start(): Promise<Cluster> {
    const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
    return new Cluster(postgres, redis, mkdtempSync(join(tmpdir(), "m2m-cluster-")));
  }

  /** A database of its own for one app (apps may share one; separate ones keep the tests' reads plain). */
  database(name: string): Promise<string> {
    return this.postgres.database(name);
  }

  /**
   * Starts one instance of `name` with `env`, on a free port unless `env`
   * names one (`PORT`), with its own DATA_DIR, and waits for its `/readyz`.
   * `label` names it in the logs.
   */
  async start(name: AppName, label: string, env: Record<string, string>): Promise<Instance> {
    const port = env.PORT ?? String(await freePort());
    const dataDir = join(this.root, label);
    const app = spawnApp(name, { DATA_DIR: dataDir, ...env, PORT: port }, (line) => this.logs.push({ ...line, from: label }));
    const instance = Object.assign(app, { label });
    this.instances.push(instance);
    await waitUntilReady(`${app.url}/readyz`, app, 30_000);
    return instance;
  }

  /** SIGTERM (a clean stop) or SIGKILL (a crash) to one instance's process group. */
  async stop(instance: Instance, signal: NodeJS.Signals = "SIGTERM") {
    this.instances.splice(this.instances.indexOf(instance), 1);
    return stopApp(instance, signal);
  }

  /** Log lines with one event name, of one instance or all. */
  events(msg: string, label?: string) {
    return this.logs.filter((line) => line.msg === msg && (label === undefined || line.from === label));
  }

  async dispose(): Promise<void> {
    await Promise.all(this.instances.splice(0).map((instance) => stopApp(instance, "SIGKILL")));
    await Promise.all([this.postgres.dispose(), this.redis.dispose()]);
    rmSync(this.root, { recursive: true, force: true });
  }
}
