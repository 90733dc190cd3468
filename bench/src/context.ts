import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/free-port.mjs";
import type { CorePlan } from "./cores.js";
import type { LoadGenerator } from "./load/load-generator.js";
import type { BenchOptions } from "./options.js";
import { ChildServer } from "./servers/child-server.js";
import { isApp, type ServerSpec } from "./servers/protocol.js";

/** What every scenario gets: options, cores, the load generator, and servers it can start. */
export class BenchContext {
  private readonly root = mkdtempSync(join(tmpdir(), "m2m-bench-"));
  private readonly running = new Set<ChildServer>();
  /** Every server started during the run, for the memory table. */
  readonly started: ChildServer[] = [];

  constructor(
    readonly options: BenchOptions,
    readonly cores: CorePlan,
    readonly load: LoadGenerator,
    readonly log: (line: string) => void,
  ) {}

  /**
   * Starts a server in its own pinned process with a fresh temp data folder
   * (SQLite, keys). Our apps, and servers taking DPoP, get a free port
   * chosen here unless the spec names one: their URLs are configuration
   * (auth-server's is its issuer, a DPoP resource's the `htu` origin).
   * With `keepLog`, its stdout (the JSON log lines) goes to a file for
   * {@link ChildServer.logCounts}; else to /dev/null.
   */
  async start(label: string, spec: Omit<ServerSpec, "dataDir" | "logFile">, keepLog = false): Promise<ChildServer> {
    const dataDir = mkdtempSync(join(this.root, `${label}-`));
    // with DPoP, a server's own origin is configuration too: the public URL its proofs must name
    const port = spec.port ?? (isApp(spec.kind) || spec.dpopMode !== undefined ? await freePort() : undefined);
    const logFile = keepLog ? `${dataDir}.log` : undefined;
    const server = await ChildServer.start(label, { ...spec, port, dataDir, logFile }, { cores: this.cores, profileDir: this.options.profileDir });
    this.running.add(server);
    this.started.push(server);
    return server;
  }

  async stop(...servers: ChildServer[]): Promise<void> {
    await Promise.all(
      servers.map(async (s) => {
        this.running.delete(s);
        await s.stop();
      }),
    );
  }

  /** Stops whatever is still running and removes the temp folders. */
  async close(): Promise<void> {
    await this.stop(...this.running);
    rmSync(this.root, { recursive: true, force: true });
  }
}
